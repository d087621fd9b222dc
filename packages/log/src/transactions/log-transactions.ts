import type { Logger } from "pino";
import { GroupError, InvalidArgumentError, UnknownTopicError } from "../errors.js";
import type { GroupCoordinator } from "../groups/group-coordinator.js";
import type {
  InitTransactionRequest,
  TxnOffsetCommitRequest,
  TxnProducerRef,
} from "../client/log-service.js";
import { isInternalTopic } from "../names.js";
import type { TopicPartition } from "../record.js";
import { RecordBatch } from "../record-batch.js";
import { PartitionLogOffsetJournal } from "../storage/partition-log-offset-journal.js";
import type { TopicRegistry } from "../storage/topic-registry.js";
import { TransactionCoordinator, validateTransactionalId } from "./transaction-coordinator.js";
import type { TxnOffset } from "./transaction-record.js";

export const TRANSACTION_STATE_TOPIC = "__transaction_state";
/** Kafka's transaction.abort.timed.out.transaction.cleanup.interval.ms is 10 s; ours checks each second. */
const DEFAULT_TIMEOUT_CHECK_MS = 1000;
/**
 * Markers carry the coordinator's epoch so a partition can refuse a deposed coordinator's.
 * One log has one coordinator that never moves, so it is always 0.
 */
const COORDINATOR_EPOCH = 0;

export interface LogTransactionsOptions {
  registry: TopicRegistry;
  groups: GroupCoordinator;
  allocateProducerId(): Promise<number>;
  logger: Logger;
  now: () => number;
  /** How often transactions open past their timeout are aborted. Default 1 s; 0: never. */
  timeoutCheckIntervalMs?: number;
}

/**
 * The transaction side of one log (the embedded log, and so the broker): the
 * TransactionCoordinator, journalled in the compacted `__transaction_state` topic, wired
 * to the partitions and the group coordinator. Responsible for:
 * - the LogService transaction requests (InitProducerId with a transactional id,
 *   AddPartitionsToTxn, TxnOffsetCommit with its KIP-447 generation check, EndTxn);
 * - the markers: a decided transaction's COMMIT or ABORT control batch appended to every
 *   partition it wrote, then (on commit) its offsets committed to their groups;
 * - verifying each transactional batch before it is appended (verifyProduce);
 * - the timer that aborts transactions open longer than their timeout.
 * Opening finishes every transaction the journal shows decided but not completed, so a
 * commit acknowledged before a SIGKILL is completed after the restart.
 */
export class LogTransactions {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    readonly coordinator: TransactionCoordinator,
    private readonly options: LogTransactionsOptions,
  ) {}

  static async open(options: LogTransactionsOptions): Promise<LogTransactions> {
    const { registry } = options;
    if (!registry.has(TRANSACTION_STATE_TOPIC)) {
      registry.create(TRANSACTION_STATE_TOPIC, {
        partitions: 1,
        config: { cleanupPolicy: "compact", flushPolicy: "always", segmentBytes: 16 * 1024 * 1024 },
      });
    }
    const journal = new PartitionLogOffsetJournal(
      registry.partition(TRANSACTION_STATE_TOPIC, 0),
      options.logger,
    );
    const coordinator = await TransactionCoordinator.open({
      journal,
      markers: { write: (...args) => writeMarkers(options, ...args) },
      allocateProducerId: options.allocateProducerId,
      now: options.now,
    });
    const self = new LogTransactions(coordinator, options);
    self.startTimer(options.timeoutCheckIntervalMs ?? DEFAULT_TIMEOUT_CHECK_MS);
    return self;
  }

  initProducerId(
    request: InitTransactionRequest,
  ): Promise<{ producerId: number; producerEpoch: number }> {
    validateTransactionalId(request.transactionalId);
    return this.coordinator.initProducerId(request.transactionalId, request.transactionTimeoutMs);
  }

  addPartitions(request: TxnProducerRef & { partitions: TopicPartition[] }): Promise<void> {
    if (!Array.isArray(request.partitions) || request.partitions.length === 0) {
      throw new InvalidArgumentError("addPartitionsToTxn needs at least one partition");
    }
    for (const tp of request.partitions) {
      if (isInternalTopic(tp.topic)) {
        throw new InvalidArgumentError(
          `'${tp.topic}' is an internal topic: transactions cannot write to it`,
        );
      }
      this.options.registry.partition(tp.topic, tp.partition); // unknown ones fail here
    }
    return this.coordinator.addPartitions(
      request.transactionalId,
      request.producerId,
      request.producerEpoch,
      request.partitions,
    );
  }

  txnOffsetCommit(request: TxnOffsetCommitRequest): Promise<void> {
    if (!Array.isArray(request.offsets)) {
      throw new InvalidArgumentError("txnOffsetCommit needs an array of offsets");
    }
    for (const o of request.offsets) {
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new InvalidArgumentError(
          `offset ${o.offset} for ${o.topic}-${o.partition}: an offset is a non-negative integer`,
        );
      }
    }
    // KIP-447: the sender must be a member of the group's current generation now.
    this.options.groups.checkMember(request);
    return this.coordinator.addOffsets(
      request.transactionalId,
      request.producerId,
      request.producerEpoch,
      request.groupId,
      request.offsets,
    );
  }

  endTxn(request: TxnProducerRef & { commit: boolean }): Promise<void> {
    return this.coordinator.endTransaction(
      request.transactionalId,
      request.producerId,
      request.producerEpoch,
      request.commit === true,
    );
  }

  /**
   * For a read_committed consumer looking up its group's offsets (KIP-447): refuses,
   * retriably, while a transaction not yet complete holds offsets of this group (for these
   * topics), which it may be about to commit.
   */
  checkStableOffsets(groupId: string, topics?: string[]): void {
    for (const m of this.coordinator.list()) {
      if (m.status !== "Ongoing" && !m.status.startsWith("Prepare")) continue;
      const pending = m.offsets.find(
        (o) => o.groupId === groupId && (topics === undefined || topics.includes(o.topic)),
      );
      if (pending === undefined) continue;
      throw new GroupError(
        "UNSTABLE_OFFSET_COMMIT",
        `group '${groupId}' has offsets for ${pending.topic}-${pending.partition} pending in the transaction of '${m.transactionalId}' (${m.status}): retry once it commits or aborts`,
      );
    }
  }

  /** Before an append: a transactional batch must belong to an open transaction that added the partition. */
  verifyProduce(topic: string, partition: number, batch: Buffer): void {
    if (batch.length < 61) return; // the append path refuses it with the reason
    const b = new RecordBatch(batch, 0);
    if (b.isControl) {
      throw new InvalidArgumentError(
        `append to ${topic}-${partition}: a control batch (transaction marker) comes from the transaction coordinator only; commit or abort the transaction instead`,
      );
    }
    if (!b.isTransactional) return;
    this.coordinator.verifyPartition(b.producerId, b.producerEpoch, { topic, partition });
  }

  private startTimer(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.coordinator.abortTimedOut().then(
        (aborted) => {
          if (aborted.length === 0) return;
          this.options.logger.warn(
            { event: "transactions-timed-out", transactionalIds: aborted },
            `aborted ${aborted.length} transaction(s) open past their timeout (${aborted.join(", ")}): their producers are fenced`,
          );
        },
        (err) => {
          if (this.closed) return;
          this.options.logger.error(
            { event: "transaction-timeout-failed", err },
            `aborting timed-out transactions failed (retried in ${intervalMs} ms): ${(err as Error).message}`,
          );
        },
      );
    }, intervalMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}

/**
 * The markers of a decided transaction: a control batch on every partition it wrote
 * (together, each acknowledged per its topic's flush policy), then, for a commit, its
 * offsets to their groups. A partition whose topic was deleted meanwhile needs none.
 */
async function writeMarkers(
  options: LogTransactionsOptions,
  producerId: number,
  producerEpoch: number,
  commit: boolean,
  partitions: readonly TopicPartition[],
  _groups: readonly string[],
  offsets: readonly TxnOffset[],
): Promise<void> {
  const type = commit ? "COMMIT" : "ABORT";
  await Promise.all(
    partitions.map(async (tp) => {
      let log: ReturnType<TopicRegistry["partition"]>;
      try {
        log = options.registry.partition(tp.topic, tp.partition);
      } catch (err) {
        if (err instanceof UnknownTopicError) return;
        throw err;
      }
      await log.appendMarker(producerId, producerEpoch, type, COORDINATOR_EPOCH);
    }),
  );
  if (!commit) return;
  const byGroup = new Map<string, { topic: string; partition: number; offset: number }[]>();
  for (const o of offsets) {
    let list = byGroup.get(o.groupId);
    if (list === undefined) {
      list = [];
      byGroup.set(o.groupId, list);
    }
    list.push({
      topic: o.topic,
      partition: o.partition,
      offset: o.offset,
      ...(o.metadata === undefined ? {} : { metadata: o.metadata }),
    });
  }
  for (const [groupId, list] of byGroup) {
    await options.groups.commitTransactional(groupId, list);
  }
}
