import {
  ClosedError,
  InvalidArgumentError,
  ProducerFencedError,
  TransactionError,
  TributaryError,
} from "../errors.js";
import type { ProducerRecord } from "../record.js";
import { type RetryPolicy, retryWithBackoff } from "../retry-with-backoff.js";
import { validateTransactionalId } from "../transactions/transaction-coordinator.js";
import type {
  CommittedOffset,
  ConsumerGroupMetadata,
  ProduceResult,
  TransactionalProducer,
  TransactionalProducerOptions,
} from "./log-client.js";
import type { LogService, TxnProducerRef } from "./log-service.js";
import type { MetadataCache } from "./metadata-cache.js";
import { ServiceProducer } from "./service-producer.js";

/** Kafka's transaction.timeout.ms default. */
const DEFAULT_TRANSACTION_TIMEOUT_MS = 60_000;
const DEFAULT_DELIVERY_TIMEOUT_MS = 30_000;

type State = "uninitialized" | "ready" | "in-transaction" | "fenced" | "closed";

/**
 * The transactional producer over a LogService (the embedded log or the broker), as
 * Kafka's: `initTransactions` gets the transactional id's producer id with a new epoch
 * (fencing older instances); a transaction's sends go through a ServiceProducer whose
 * batches carry the transactional bit, each new partition added to the transaction first
 * (AddPartitionsToTxn); `sendOffsets` hands the group's offsets to the transaction
 * (TxnOffsetCommit); commit and abort end it (EndTxn), which writes the markers.
 *
 * Sends are pipelined: a send resolves when its batches are acknowledged, but the next
 * call starts once they are encoded and queued, so several sends of a transaction are in
 * flight at once while each partition still gets them in call order, with gapless
 * sequence numbers (the partition keeps the last five batches per producer, and the
 * producer keeps at most five in flight per partition). Commit and abort first wait for
 * every send in flight to settle: a commit must cover them all, and a batch landing after
 * the ABORT marker would open a new transaction there that nothing ends.
 *
 * A send that failed leaves the transaction abortable only (its batch may or may not be
 * stored): commit is refused, later sends are refused, batches still in flight stop
 * retrying, and the abort takes a new epoch, so sequences restart at 0 on every partition
 * (Kafka's KIP-360). PRODUCER_FENCED from anywhere is final: every later call fails with
 * it, and the instance must close. Calls other than a send's wait for its acks run one at
 * a time; the coordinator's requests are idempotent, so retriable failures (a broker
 * reconnecting) are retried until the delivery timeout.
 */
export class ServiceTransactionalProducer implements TransactionalProducer {
  private readonly transactionalId: string;
  private readonly timeoutMs: number;
  private readonly producer: ServiceProducer;
  private readonly retryPolicy: RetryPolicy;
  private state: State = "uninitialized";
  private ids: { producerId: number; producerEpoch: number } | null = null;
  /** "topic\0partition" of the partitions added to the open transaction. */
  private readonly added = new Set<string>();
  /** The send failure that makes the open transaction abortable only. */
  private sendFailure: Error | null = null;
  private fencedBy: TributaryError | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** The sends of the open transaction whose acks have not all come (each never rejects). */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly service: LogService,
    metadata: MetadataCache,
    options: TransactionalProducerOptions,
  ) {
    validateTransactionalId(options.transactionalId);
    this.transactionalId = options.transactionalId;
    this.timeoutMs = options.transactionTimeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs < 1) {
      throw new InvalidArgumentError(
        `transactionTimeoutMs ${this.timeoutMs} for '${this.transactionalId}': expected a positive integer of milliseconds`,
      );
    }
    this.retryPolicy = {
      retryIf: (err) => err instanceof TributaryError && err.retriable,
      initialDelayMs: 50,
      maxDelayMs: 1000,
      timeoutMs: options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS,
    };
    this.producer = new ServiceProducer(
      service,
      metadata,
      undefined,
      options.deliveryTimeoutMs,
      true,
      {
        producer: () => this.ids!,
        addPartitions: (topic, partitions) => this.addPartitions(topic, partitions),
        failed: () => this.sendFailure !== null || this.state === "fenced",
      },
    );
  }

  initTransactions(): Promise<void> {
    return this.serial(async () => {
      this.checkUsable();
      if (this.state === "in-transaction") {
        throw this.stateError("initTransactions", "a transaction is open: commit or abort it");
      }
      await this.init();
      this.state = "ready";
    });
  }

  beginTransaction(): Promise<void> {
    return this.serial(async () => {
      this.checkUsable();
      if (this.state === "uninitialized") {
        throw this.stateError("beginTransaction", "call initTransactions() first");
      }
      if (this.state === "in-transaction") {
        throw this.stateError(
          "beginTransaction",
          "a transaction is already open: commit or abort it first",
        );
      }
      this.state = "in-transaction";
      this.added.clear();
      this.sendFailure = null;
    });
  }

  send(topic: string, records: readonly ProducerRecord[]): Promise<ProduceResult[]> {
    return this.sendVia("send", () => this.producer.dispatch(topic, records));
  }

  /** Batches the caller encoded (RecordBatchBuilder), stamped transactional, in the open transaction. */
  sendEncoded(
    topic: string,
    batches: readonly { partition: number; batch: Buffer }[],
  ): Promise<ProduceResult[]> {
    return this.sendVia("sendEncoded", () => this.producer.dispatchEncoded(topic, batches));
  }

  private sendVia(
    what: string,
    dispatch: () => Promise<{ acks: Promise<ProduceResult[]> }>,
  ): Promise<ProduceResult[]> {
    const queued = this.serial(async () => {
      this.checkInTransaction(what);
      if (this.sendFailure !== null) {
        throw this.stateError(
          what,
          `an earlier send of this transaction failed (${this.sendFailure.message}): abort the transaction`,
        );
      }
      try {
        const { acks } = await dispatch();
        const settled = acks.then(
          () => {},
          (err) => this.sendFailed(err),
        );
        this.inFlight.add(settled);
        void settled.then(() => this.inFlight.delete(settled));
        return { acks };
      } catch (err) {
        this.sendFailed(err);
        throw err;
      }
    });
    return queued.then((q) => q.acks);
  }

  private sendFailed(err: unknown): void {
    this.noteFailure(err);
    this.sendFailure ??= err as Error;
  }

  /** Waits until every send of the open transaction has its acks or has failed. */
  private async settleSends(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  sendOffsets(offsets: readonly CommittedOffset[], group: ConsumerGroupMetadata): Promise<void> {
    return this.serial(async () => {
      this.checkInTransaction("sendOffsets");
      if (offsets.length === 0) return;
      await this.call(() =>
        this.service.txnOffsetCommit({
          ...this.ref(),
          groupId: group.groupId,
          memberId: group.memberId,
          generation: group.generation,
          ...(group.groupInstanceId === undefined
            ? {}
            : { groupInstanceId: group.groupInstanceId }),
          offsets: offsets.map((o) => ({ ...o })),
        }),
      );
    });
  }

  commitTransaction(): Promise<void> {
    return this.serial(async () => {
      this.checkInTransaction("commitTransaction");
      await this.settleSends();
      this.checkUsable(); // a send in flight may have been fenced
      if (this.sendFailure !== null) {
        throw this.stateError(
          "commitTransaction",
          `a send of this transaction failed (${this.sendFailure.message}): abort the transaction`,
        );
      }
      await this.call(() => this.service.endTxn({ ...this.ref(), commit: true }));
      this.state = "ready";
    });
  }

  abortTransaction(): Promise<void> {
    return this.serial(async () => {
      this.checkInTransaction("abortTransaction");
      await this.settleSends();
      this.checkUsable();
      await this.call(() => this.service.endTxn({ ...this.ref(), commit: false }));
      // A failed send leaves the partitions' sequences unknown: a new epoch restarts them.
      if (this.sendFailure !== null) await this.init();
      this.sendFailure = null;
      this.state = "ready";
    });
  }

  async close(): Promise<void> {
    // An open transaction is left to the coordinator: its timeout, or the next instance's
    // initTransactions, aborts it (as Kafka's close without a commit).
    this.state = "closed";
    await this.producer.close();
  }

  private async init(): Promise<void> {
    this.ids = await this.call(() =>
      this.service.initProducerId({
        transactionalId: this.transactionalId,
        transactionTimeoutMs: this.timeoutMs,
      }),
    );
    this.producer.resetSequences();
    this.added.clear();
  }

  private async addPartitions(topic: string, partitions: number[]): Promise<void> {
    const fresh = partitions.filter((p) => !this.added.has(`${topic}\0${p}`));
    if (fresh.length === 0) return;
    await this.call(() =>
      this.service.addPartitionsToTxn({
        ...this.ref(),
        partitions: fresh.map((partition) => ({ topic, partition })),
      }),
    );
    for (const p of fresh) this.added.add(`${topic}\0${p}`);
  }

  private ref(): TxnProducerRef {
    return {
      transactionalId: this.transactionalId,
      producerId: this.ids!.producerId,
      producerEpoch: this.ids!.producerEpoch,
    };
  }

  /** A coordinator request, retried while retriable (they are idempotent); notes fencing. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await retryWithBackoff(request, this.retryPolicy);
    } catch (err) {
      this.noteFailure(err);
      throw err;
    }
  }

  private noteFailure(err: unknown): void {
    if (err instanceof TributaryError && err.code === "PRODUCER_FENCED") {
      this.state = "fenced";
      this.fencedBy = err;
    }
  }

  private checkUsable(): void {
    if (this.state === "closed")
      throw new ClosedError(`transactional producer '${this.transactionalId}'`);
    if (this.state === "fenced") {
      throw new ProducerFencedError(
        `transactional producer '${this.transactionalId}' was fenced (${this.fencedBy?.message ?? "a newer instance started"}): close it`,
      );
    }
  }

  private checkInTransaction(what: string): void {
    this.checkUsable();
    if (this.state !== "in-transaction") {
      throw this.stateError(
        what,
        this.state === "uninitialized"
          ? "call initTransactions() first"
          : "no transaction is open: call beginTransaction() first",
      );
    }
  }

  private stateError(what: string, why: string): TransactionError {
    return new TransactionError(
      "INVALID_TXN_STATE",
      `${what} on transactional producer '${this.transactionalId}': ${why}`,
    );
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }
}
