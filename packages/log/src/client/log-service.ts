import type {
  CommittedOffset,
  CreateTopicOptions,
  GroupDescription,
  GroupOverview,
  OffsetResetPlanRow,
  OffsetResetSpec,
  OffsetSpec,
  PartitionOffset,
  TopicDescription,
  AssignorName,
} from "./log-client.js";
import type { TopicPartition } from "../record.js";
import type { IsolationLevel } from "./isolation-level.js";

/**
 * LogService is the server side of a log: the operations a broker serves. The embedded
 * log implements it in-process, and the broker client implements it over a socket; the
 * producer, consumer and admin (service-client.ts) are written once on top of it, so the
 * embedded and remote LogClients behave the same by construction.
 *
 * Produce and fetch move whole record batches as bytes: the producer encodes, the log
 * stores the bytes as they are, a fetch returns them as stored, and the consumer checks
 * the CRC and decodes. Nothing here does per-record work.
 */
export interface LogService {
  /**
   * True when fetch responses were CRC-checked in this very process (the embedded log
   * verifies every batch it reads and names the segment on failure), so the consumer
   * need not check them again. Over a socket it is false and the consumer checks.
   */
  readonly verifiedReads?: boolean;

  createTopic(name: string, options: CreateTopicOptions): Promise<void>;
  deleteTopic(name: string): Promise<void>;
  listTopics(includeInternal: boolean): Promise<string[]>;
  describeTopic(name: string): Promise<TopicDescription>;
  /** Partition count, or throws UnknownTopicError. Cheap; clients cache it. */
  partitionCount(topic: string): Promise<number>;
  /**
   * Offsets per partition; "latest" under read_committed is the last stable offset (as
   * Kafka's ListOffsets with that isolation), so a consumer reset to the end does not
   * start past records of a transaction still open, which would be skipped when it commits.
   */
  listOffsets(
    topic: string,
    spec: OffsetSpec,
    isolation?: IsolationLevel,
  ): Promise<PartitionOffset[]>;

  /**
   * A new idempotent producer id and epoch (Kafka's InitProducerId), unique across
   * restarts of the log. The producer stamps them, with a sequence number per partition,
   * into its batches; the log then appends a retried batch only once.
   */
  initProducerId(
    transaction?: InitTransactionRequest,
  ): Promise<{ producerId: number; producerEpoch: number }>;

  /**
   * The current transaction of `transactionalId` writes these partitions (Kafka's
   * AddPartitionsToTxn): sent before the first batch to each. The log refuses a
   * transactional batch for a partition not added (as Kafka's KIP-890 verification), so a
   * producer cannot leave a transaction open that the coordinator does not know.
   */
  addPartitionsToTxn(request: TxnProducerRef & { partitions: TopicPartition[] }): Promise<void>;
  /**
   * Commits a consumer group's offsets inside the transaction (Kafka's AddOffsetsToTxn and
   * TxnOffsetCommit in one): checked against the group's current generation and member
   * (KIP-447, so a zombie of an older generation is refused), kept with the transaction,
   * and visible to the group only once it commits.
   */
  txnOffsetCommit(request: TxnOffsetCommitRequest): Promise<void>;
  /** Commits or aborts the transaction (Kafka's EndTxn): markers on every partition it wrote. */
  endTxn(request: TxnProducerRef & { commit: boolean }): Promise<void>;

  /** Appends one encoded batch (record-batch.ts); resolves per the topic's flush policy. */
  produce(topic: string, partition: number, batch: Buffer): Promise<ProduceAck>;
  /**
   * Returns stored batches from each requested offset. Waits up to `maxWaitMs` until at
   * least `minBytes` are available over all partitions (long poll). At least one whole
   * batch is returned per partition with data even if it is larger than `maxBytes`.
   */
  fetch(requests: FetchRequest[], options: FetchOptions): Promise<FetchResponse[]>;

  joinGroup(request: JoinGroupRequest): Promise<JoinGroupResponse>;
  heartbeat(request: GroupMemberRef): Promise<HeartbeatResponse>;
  leaveGroup(request: { groupId: string; memberId: string }): Promise<void>;
  /** Fenced: refused unless the member is in the group's current generation. */
  commitOffsets(request: GroupMemberRef & { offsets: CommittedOffset[] }): Promise<void>;
  /**
   * The group's committed offsets. With `requireStable` (a read_committed consumer, as
   * Kafka's KIP-447), a partition with offsets pending in an open or deciding transaction
   * fails with a retriable UNSTABLE_OFFSET_COMMIT instead of answering the offset that
   * transaction is about to replace.
   */
  fetchOffsets(
    groupId: string,
    topics?: string[],
    requireStable?: boolean,
  ): Promise<CommittedOffset[]>;
  listGroups(): Promise<GroupOverview[]>;
  describeGroup(groupId: string): Promise<GroupDescription>;
  resetOffsets(
    groupId: string,
    spec: OffsetResetSpec,
    options: { topics?: string[]; dryRun?: boolean },
  ): Promise<OffsetResetPlanRow[]>;
  deleteGroup(groupId: string): Promise<void>;

  close(): Promise<void>;
}

/** InitProducerId for a transactional producer: fences older instances of the same id. */
export interface InitTransactionRequest {
  transactionalId: string;
  transactionTimeoutMs: number;
}

/** Who a transaction request comes from; a stale epoch gets PRODUCER_FENCED. */
export interface TxnProducerRef {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
}

export interface TxnOffsetCommitRequest extends TxnProducerRef, GroupMemberRef {
  groupInstanceId?: string;
  offsets: CommittedOffset[];
}

export interface ProduceAck {
  baseOffset: number;
  lastOffset: number;
}

export interface FetchRequest {
  topic: string;
  partition: number;
  offset: number;
  maxBytes: number;
}

export interface FetchOptions {
  maxWaitMs: number;
  minBytes: number;
  /** Bound on the whole response. */
  maxBytes: number;
  /**
   * "read_committed": read only below each partition's last stable offset, and return the
   * aborted transactions of the range read (the consumer drops their records). Default
   * read_uncommitted.
   */
  isolation?: IsolationLevel;
}

export interface FetchResponse {
  topic: string;
  partition: number;
  /** Back-to-back stored batches; the first may start before the requested offset. */
  records: Buffer;
  highWatermark: number;
  logStartOffset: number;
  /** The offset read_committed reads stop at (the oldest open transaction, else the high watermark). */
  lastStableOffset?: number;
  /** read_committed only: aborted transactions with records in the batches returned. */
  abortedTransactions?: { producerId: number; firstOffset: number }[];
  /** Set instead of records when this partition failed (e.g. OFFSET_OUT_OF_RANGE). */
  error?: { code: string; message: string };
}

/** Identifies a member in a generation: what fencing checks. */
export interface GroupMemberRef {
  groupId: string;
  memberId: string;
  generation: number;
}

export interface JoinGroupRequest {
  groupId: string;
  /** Empty on first join; the coordinator assigns one. */
  memberId: string;
  clientId: string;
  topics: string[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  assignor: AssignorName;
  /** Partitions this member owns now (sticky assignment keeps them where it can). */
  owned: TopicPartition[];
  /** Kafka's group.instance.id: static membership (see ConsumerOptions.groupInstanceId). */
  groupInstanceId?: string;
}

/**
 * Assignment is computed by the coordinator (as in Kafka's KIP-848 protocol), so a join
 * returns the member's partitions directly once the rebalance completes.
 */
export interface JoinGroupResponse {
  memberId: string;
  generation: number;
  assignment: TopicPartition[];
}

export interface HeartbeatResponse {
  /** The group is rebalancing: the member must rejoin (revoking first). */
  rebalance: boolean;
}
