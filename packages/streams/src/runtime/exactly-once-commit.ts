import type {
  Consumer,
  LogClient,
  ProduceResult,
  Producer,
  ProducerRecord,
  TransactionalProducer,
} from "@tributary/log";
import { CommitBarrier } from "@tributary/state";
import { CommitAbortedError } from "../errors.js";
import type { CommitSteps, TaskCommitter } from "./task-committer.js";

/**
 * Kafka Streams' transaction.timeout.ms under exactly-once (10 s, not the producer's
 * 60 s; three commit intervals when that is longer): a transaction a crashed worker left
 * open holds read_committed readers of its partitions back until its successor fences it
 * or this timeout aborts it.
 */
export const EOS_TRANSACTION_TIMEOUT_MS = 10_000;

/**
 * The transactional id of a worker (EOS-v2, KIP-447: one transactional producer per
 * worker, not per task): stable across restarts of the same worker slot, so a restarted
 * worker's initTransactions fences its predecessor and aborts what it left open.
 */
export function transactionalIdFor(applicationId: string, workerIdentity: string): string {
  return `${applicationId}-eos-${workerIdentity}`;
}

/**
 * Exactly-once commits (Kafka Streams' StreamsProducer and TaskExecutor under EOS-v2): one
 * transactional producer per worker carries every send of every task — outputs,
 * repartition and dead-letter records, changelog appends — and the input offsets
 * (sendOffsets with the consumer's group metadata, so a zombie of an older generation is
 * refused). One commit is one transaction. The order:
 *
 *   1. the caches were flushed (task manager); a transaction begins at the first send;
 *   2. the collector's records are acknowledged in the transaction (most were sent after
 *      the poll that produced them, the rest now);
 *   3. every store appends its pending changes to its changelog in the transaction and
 *      waits at the CommitBarrier (its RocksDB batch is NOT written yet);
 *   4. sendOffsets(input positions, group metadata), then commitTransaction;
 *   5. the barrier opens: every store writes ONE RocksDB batch with its data and the
 *      changelog offset reached.
 *
 * A crash before 4 completes: the transaction is aborted (by the restarted worker's
 * initTransactions, or the timeout), nothing of it is visible to read_committed readers,
 * the stores still hold the previous commit's batch and offset. A crash between 4 and 5:
 * the transaction counts, the stores are one batch behind it, and opening them replays
 * the committed changelog tail from their stored offset. In neither case is a store
 * rebuilt from empty (the difference from Kafka Streams before KIP-892).
 *
 * A failure in 2–4 aborts the transaction and throws CommitAbortedError: the worker then
 * closes every task without committing (caches and uncommitted store writes dropped;
 * the stores refuse use after a failed commit and are reopened), moves its inputs back to
 * the committed offsets, and recreates the tasks (exactly-once-rollback.ts).
 */
export class ExactlyOnceCommitter implements TaskCommitter {
  readonly guarantee = "exactly_once";
  /** Gate for the stores' engine writes; hand it to every store's changelog. */
  readonly barrier = new CommitBarrier();
  /** Sends inside the current transaction, beginning one when none is open. */
  readonly producer: Producer;
  private readonly txn: TransactionalProducer;
  private begun: Promise<void> | null = null;
  /**
   * Set while a transaction ends (from commitTransaction until it committed, or its abort
   * finished): a send then waits and begins the next transaction. Joining the ending one
   * would put a record of the next commit's inputs in this commit (or in an aborted one).
   */
  private ending: Promise<void> | null = null;
  private endHolds = 0;
  private endDone: () => void = () => {};
  /** Transactions committed and aborted, for metrics and tests. */
  committed = 0;
  aborted = 0;

  readonly transactionalId: string;

  constructor(
    log: LogClient,
    options: { transactionalId: string; clientId: string; commitIntervalMs: number },
    private readonly consumer: () => Consumer,
  ) {
    this.transactionalId = options.transactionalId;
    this.txn = log.transactionalProducer({
      clientId: options.clientId,
      transactionalId: options.transactionalId,
      // a transaction lives about one commit interval: never time out a healthy one
      transactionTimeoutMs: Math.max(EOS_TRANSACTION_TIMEOUT_MS, 3 * options.commitIntervalMs),
    });
    const txn = this.txn;
    this.producer = {
      send: (topic, records) => this.send(topic, records),
      ...(txn.sendEncoded === undefined
        ? {}
        : { sendEncoded: (topic, batches) => this.sendEncoded(topic, batches) }),
      close: () => Promise.resolve(), // the committer closes the transactional producer
    };
  }

  /** Fences every older instance with this transactional id and aborts what it left open. */
  init(): Promise<void> {
    return this.txn.initTransactions();
  }

  private send(topic: string, records: readonly ProducerRecord[]): Promise<ProduceResult[]> {
    return this.inTransaction(() => this.txn.send(topic, records));
  }

  private sendEncoded(
    topic: string,
    batches: readonly { partition: number; batch: Buffer }[],
  ): Promise<ProduceResult[]> {
    return this.inTransaction(() => this.txn.sendEncoded!(topic, batches));
  }

  /**
   * Runs `op` in the open transaction, beginning one when none is, after any transaction
   * ending now has ended. Checked again after every wait: a commit or abort may have
   * started while this one waited for the begin.
   */
  private async inTransaction<T>(op: () => Promise<T>): Promise<T> {
    for (;;) {
      if (this.ending !== null) {
        await this.ending;
        continue;
      }
      this.begun ??= this.txn.beginTransaction();
      const begun = this.begun;
      await begun;
      if (this.ending === null && this.begun === begun) return op();
    }
  }

  /** Holds sends back until the returned release is called (nested holds allowed). */
  private holdSends(): () => void {
    if (this.endHolds++ === 0) {
      this.ending = new Promise<void>((resolve) => {
        this.endDone = resolve;
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.endHolds === 0) {
        this.ending = null;
        this.endDone();
      }
    };
  }

  async commit(steps: CommitSteps): Promise<void> {
    let stores: Promise<void>[] = [];
    // sends wait from commitTransaction on until it committed or (failed) was aborted
    let release: (() => void) | null = null;
    try {
      await steps.flushOutputs();
      stores = steps.commitStores();
      // every store that entered has its append acknowledged (or one failed: abort)
      await Promise.race([this.barrier.appended(), Promise.all(stores)]);
      if (steps.offsets.length > 0) {
        this.begun ??= this.txn.beginTransaction();
        await this.begun;
        await this.txn.sendOffsets(steps.offsets, this.consumer().groupMetadata());
      }
      if (this.begun !== null) {
        await this.begun;
        release = this.holdSends();
        await this.txn.commitTransaction();
        this.begun = null;
        this.committed++;
      }
    } catch (e) {
      await this.abort(e); // holds sends itself until the abort has ended
      release?.();
      release = null;
      await Promise.allSettled(stores);
      // Another live worker has this transactional id: rolling back would only be fenced
      // again. The worker stops (the error says so).
      if (producerFenced(e)) throw e;
      throw new CommitAbortedError(e);
    } finally {
      release?.();
    }
    this.barrier.release();
    // The transaction counts from here. A store whose RocksDB write fails now refuses use
    // (its next commit throws) and replays the committed tail when reopened.
    await Promise.all(stores);
  }

  /**
   * Aborts the open transaction, if any, and fails the stores waiting at the barrier:
   * nothing sent since the last commit counts. Best effort on the abort itself: a
   * transaction that cannot be aborted now is aborted by the timeout or the next
   * initTransactions, and read_committed readers never see it either way.
   */
  async abort(cause: unknown): Promise<void> {
    this.barrier.abort(cause);
    const begun = this.begun;
    this.begun = null;
    if (begun === null) return;
    this.aborted++;
    const release = this.holdSends();
    try {
      await begun;
      await this.txn.abortTransaction();
    } catch {
      // see above: the transaction can never commit without us
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    await this.abort(new Error("worker closing"));
    await this.txn.close();
  }
}

function producerFenced(e: unknown): boolean {
  for (let c = e; c instanceof Error; c = c.cause) {
    if ((c as { code?: unknown }).code === "PRODUCER_FENCED") return true;
  }
  return false;
}
