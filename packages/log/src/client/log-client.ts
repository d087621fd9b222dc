import type { LogRecord, ProducerRecord, TopicPartition } from "../record.js";
import type { BatchReader, BatchReaderOptions } from "./batch-reader.js";
import type { IsolationLevel } from "./isolation-level.js";
import type { RetentionDeletion } from "../storage/retention-deletion.js";
import type { TopicConfig } from "../topic-config.js";

/**
 * LogClient is the one interface the rest of Tributary uses to reach a log. Three
 * implementations share it and one contract test suite: the embedded log (in-process, on
 * a data directory), the broker client (over TCP or a Unix socket), and Kafka.
 *
 * Its shape follows Kafka's Java clients, so Kafka's semantics fit without adapters:
 * - the producer partitions by murmur2(key) and acknowledges per partition with the
 *   offsets it was given; what an ack means is the topic's flush policy;
 * - the consumer is poll-based; it either subscribes through a group (partitions are
 *   assigned by the coordinator and move on rebalance, reported to a listener) or is
 *   assigned partitions by hand; it commits offsets fenced by the group generation;
 * - a committed offset is the offset of the next record to read, as in Kafka.
 */
export interface LogClient {
  readonly admin: Admin;
  producer(options?: ProducerOptions): Producer;
  /**
   * A producer whose sends and offset commits go in transactions (Kafka's transactional
   * producer), on all three: Kafka's own transactions, and on the embedded log and the
   * broker their transaction coordinator (transactions/log-transactions.ts).
   */
  transactionalProducer(options: TransactionalProducerOptions): TransactionalProducer;
  consumer(options?: ConsumerOptions): Consumer;
  /**
   * Optional: a reader of one partition's batches, undecoded (batch-reader.ts), for a
   * store's restore; a client without one is read through `consumer`.
   */
  batchReader?(options: BatchReaderOptions): BatchReader;
  close(): Promise<void>;
}

export interface CreateTopicOptions {
  partitions: number;
  config?: Partial<TopicConfig>;
  /** Succeed quietly when the topic exists (its partition count is not checked). */
  ifNotExists?: boolean;
}

export interface PartitionDescription {
  partition: number;
  /**
   * First offset still held. Above 0, the records before it are gone: deleted by retention
   * (`lastRetentionDeletion` says why, when it happened since the log opened), so a reset
   * to the earliest offset cannot replay them.
   */
  logStartOffset: number;
  /** Offset the next appended record will get (Kafka's high watermark). */
  logEndOffset: number;
  sizeBytes: number;
  segments: number;
  /** The last deletion by retention since the broker (or embedded log) opened; absent if none. */
  lastRetentionDeletion?: RetentionDeletion;
}

export interface TopicDescription {
  name: string;
  partitions: PartitionDescription[];
  config: TopicConfig;
  internal: boolean;
}

/** Where to look up an offset per partition. */
export type OffsetSpec = "earliest" | "latest" | { timestamp: number };

export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

export interface CommittedOffset extends PartitionOffset {
  metadata?: string;
}

/** How `resetOffsets` moves a group's committed offsets (Kafka's reset tool, by name). */
export type OffsetResetSpec =
  | { to: "earliest" }
  | { to: "latest" }
  | { to: "offset"; offset: number }
  | { to: "timestamp"; timestamp: number }
  | { to: "duration"; ms: number }
  | { to: "shift"; by: number };

export interface OffsetResetPlanRow {
  topic: string;
  partition: number;
  /** null when the group had no committed offset for the partition. */
  from: number | null;
  to: number;
}

export type GroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

export interface GroupOverview {
  groupId: string;
  state: GroupState;
  members: number;
}

export interface GroupMemberDescription {
  memberId: string;
  clientId: string;
  assignment: TopicPartition[];
}

export interface GroupOffsetDescription extends PartitionOffset {
  logEndOffset: number;
  lag: number;
}

export interface GroupDescription {
  groupId: string;
  state: GroupState;
  generation: number;
  assignor: string | null;
  members: GroupMemberDescription[];
  offsets: GroupOffsetDescription[];
}

export interface Admin {
  createTopic(name: string, options: CreateTopicOptions): Promise<void>;
  deleteTopic(name: string): Promise<void>;
  listTopics(options?: { includeInternal?: boolean }): Promise<string[]>;
  describeTopic(name: string): Promise<TopicDescription>;
  listOffsets(topic: string, spec: OffsetSpec): Promise<PartitionOffset[]>;
  listGroups(): Promise<GroupOverview[]>;
  describeGroup(groupId: string): Promise<GroupDescription>;
  fetchCommittedOffsets(groupId: string, topics?: string[]): Promise<CommittedOffset[]>;
  /**
   * Moves a group's committed offsets for the given topics (default: those it has offsets
   * for). Refuses with GROUP_NOT_EMPTY while the group has live members. With `dryRun`
   * nothing changes and the plan is returned.
   */
  resetOffsets(
    groupId: string,
    spec: OffsetResetSpec,
    options?: { topics?: string[]; dryRun?: boolean },
  ): Promise<OffsetResetPlanRow[]>;
  deleteGroup(groupId: string): Promise<void>;
}

export interface ProducerOptions {
  clientId?: string;
  /** How long a send keeps retrying retriable failures (a broker reconnecting). Default 30 s. */
  deliveryTimeoutMs?: number;
  /**
   * Idempotent delivery (default true, as in Kafka 3+): the producer gets a producer id
   * from the log and numbers its batches per partition, so a batch retried after a lost
   * ack is stored once, and the log refuses a gap in the numbers. False: a retry may store
   * a batch twice (at-least-once).
   */
  idempotent?: boolean;
}

export interface ProduceResult {
  topic: string;
  partition: number;
  baseOffset: number;
  lastOffset: number;
}

export interface Producer {
  /**
   * Appends records: each goes to its explicit partition, else murmur2(key) % partitions,
   * else a sticky partition for keyless records (one per send call, as Kafka's sticky
   * partitioner). Records for one partition are appended as one batch, in order. Resolves
   * when every partition acknowledged under its topic's flush policy.
   */
  send(topic: string, records: readonly ProducerRecord[]): Promise<ProduceResult[]>;
  /**
   * Optional (Tributary's log, and the Kafka backend's producers): appends batches the caller encoded with a
   * RecordBatchBuilder, each to the partition the caller chose as `send` chooses it
   * (partitionForKey of the key's bytes). The producer stamps its id, epoch and sequences,
   * so they are as idempotent as `send`'s batches and queued in order with them. A batch
   * is the producer's once handed over: the caller must not write to its buffer again
   * (the embedded log appends a builder's batch without checking the CRC stamped on it).
   */
  sendEncoded?(
    topic: string,
    batches: readonly { partition: number; batch: Buffer }[],
  ): Promise<ProduceResult[]>;
  /**
   * Optional: `sendEncoded` in two steps. Resolves once the batches are stamped and queued
   * behind every earlier call's on their partitions, with `acks`, which resolves when the
   * log has them all. A caller that awaits one call before it makes the next keeps its
   * sends in call order per partition while they are in flight together.
   */
  dispatchEncoded?(
    topic: string,
    batches: readonly { partition: number; batch: Buffer }[],
  ): Promise<{ acks: Promise<ProduceResult[]> }>;
  close(): Promise<void>;
}

export interface TransactionalProducerOptions extends ProducerOptions {
  /**
   * Kafka's transactional.id: stable across restarts of the same logical producer (a
   * streams task's id, say), so a restarted instance fences its predecessor.
   */
  transactionalId: string;
  /** Kafka's transaction.timeout.ms: a transaction open longer is aborted. Default 60 s. */
  transactionTimeoutMs?: number;
}

/** A consumer's place in its group, for offsets committed inside a transaction. */
export interface ConsumerGroupMetadata {
  groupId: string;
  memberId: string;
  generation: number;
  groupInstanceId?: string;
}

/**
 * Kafka's transactional producer: `initTransactions` once (it fences any older instance
 * with the same transactional id and aborts what that one left open), then per
 * transaction `beginTransaction`, `send`s, `sendOffsets` for the consumed input, and
 * `commitTransaction` or `abortTransaction`. A `read_committed` consumer sees the records
 * and the group sees the offsets only if the transaction commits, and then all of them.
 * A fenced producer's calls fail with PRODUCER_FENCED: it must close.
 */
export interface TransactionalProducer {
  initTransactions(): Promise<void>;
  beginTransaction(): Promise<void>;
  send(topic: string, records: readonly ProducerRecord[]): Promise<ProduceResult[]>;
  /** Optional, as Producer.sendEncoded; the batches join the open transaction. */
  sendEncoded?(
    topic: string,
    batches: readonly { partition: number; batch: Buffer }[],
  ): Promise<ProduceResult[]>;
  /** Commits the consumer's positions inside the transaction (Kafka's sendOffsetsToTransaction). */
  sendOffsets(offsets: readonly CommittedOffset[], group: ConsumerGroupMetadata): Promise<void>;
  commitTransaction(): Promise<void>;
  abortTransaction(): Promise<void>;
  close(): Promise<void>;
}

export type AutoOffsetReset = "earliest" | "latest" | "none";
export type AssignorName = "range" | "sticky";

export interface RebalanceListener {
  /** Called before the partitions are taken away: the moment to commit their work. */
  onPartitionsRevoked?(partitions: TopicPartition[]): void | Promise<void>;
  onPartitionsAssigned?(partitions: TopicPartition[]): void | Promise<void>;
  /** Called when partitions were lost without a chance to commit (session expired). */
  onPartitionsLost?(partitions: TopicPartition[]): void | Promise<void>;
}

export interface ConsumerOptions {
  /** Without a group, partitions are assigned with `assign()` and nothing is committed. */
  groupId?: string;
  clientId?: string;
  /** Where to start a partition with no committed offset. Default "latest", as Kafka. */
  autoOffsetReset?: AutoOffsetReset;
  /**
   * Kafka's isolation.level. "read_committed" returns the records of committed
   * transactions only (and every non-transactional record), never reading past the last
   * stable offset (the first offset of a transaction still open); "read_uncommitted"
   * (Kafka's default) returns every record as it is appended, aborted ones included.
   * Transaction markers are never returned under either level. The same on every
   * backend (docs/formats.md, "Transactions in a partition").
   */
  isolation?: IsolationLevel;
  /**
   * No heartbeat for this long and the group drops the member (its partitions move, its
   * commits are refused). Default 45,000, Kafka's since 3.0: heartbeats run on the event
   * loop, so keep it above the longest the loop can be blocked.
   */
  sessionTimeoutMs?: number;
  /** Default min(3,000, sessionTimeoutMs / 3), Kafka's. */
  heartbeatIntervalMs?: number;
  /**
   * Kafka's group.instance.id (static membership): a process restarted with the same id
   * while the group still holds its old member takes that member's place and partitions
   * at once, without waiting out the session or rebalancing the others; the old member is
   * fenced (FENCED_INSTANCE_ID). Unique per live process: two processes sharing one fence
   * each other.
   */
  groupInstanceId?: string;
  /**
   * Kafka's max.poll.interval.ms: a member whose application does not call poll for this
   * long leaves the group (its partitions move), and its next poll reports them lost and
   * rejoins. Default 300,000.
   */
  maxPollIntervalMs?: number;
  /** How long a rebalance waits for the members to rejoin. Default 30,000. */
  rebalanceTimeoutMs?: number;
  assignor?: AssignorName;
  /** Upper bound on the bytes one poll returns, over all partitions. */
  maxPollBytes?: number;
  maxPartitionFetchBytes?: number;
  listener?: RebalanceListener;
  /**
   * Called after the consumer moved a partition's position because the log no longer
   * holds it (Kafka's OFFSET_OUT_OF_RANGE, reset per autoOffsetReset): most often
   * retention deleted records the consumer had not read yet, which are then skipped. Not
   * called for a partition's first position (no committed offset).
   */
  onPositionReset?(reset: PositionReset): void;
}

/**
 * A position the log could not serve, and where the consumer went on from. `to - from`
 * offsets were skipped when `to > from` (retention deleted them before they were read;
 * compaction gaps and transaction markers are offsets too); `to <= from` means the
 * position was past the log's end (the topic was recreated or truncated), and offsets
 * from `to` on are read again.
 */
export interface PositionReset {
  topic: string;
  partition: number;
  /** The position that was out of range. */
  from: number;
  /** The position the consumer reads from now (the log start, or its end, per autoOffsetReset). */
  to: number;
}

export interface FetchedPartition {
  topic: string;
  partition: number;
  records: LogRecord[];
  /** Log end offset at fetch time; lag = highWatermark - next position. */
  highWatermark: number;
}

export interface Consumer {
  /**
   * Where this member stands in its group now (for `sendOffsets`); throws for a consumer
   * without a group.
   */
  groupMetadata(): ConsumerGroupMetadata;
  /** Joins the group with these topics; assignment arrives on the next poll. */
  subscribe(topics: string[]): Promise<void>;
  /** Manual assignment (no group management). */
  assign(partitions: TopicPartition[]): void;
  assignment(): TopicPartition[];
  /**
   * Fetches what is available after the current positions, waiting up to `maxWaitMs`
   * (default 500) for something to arrive. Runs group duties (heartbeats, rebalances and
   * their listener calls) as part of the call, like Kafka's poll.
   */
  poll(options?: { maxWaitMs?: number }): Promise<FetchedPartition[]>;
  seek(partition: TopicPartition, offset: number): void;
  /** Next offset to be returned for the partition. */
  position(partition: TopicPartition): number | undefined;
  pause(partitions: TopicPartition[]): void;
  resume(partitions: TopicPartition[]): void;
  /** Commits the given offsets, or the current positions of all assigned partitions. */
  commit(offsets?: CommittedOffset[]): Promise<void>;
  committed(partitions: TopicPartition[]): Promise<CommittedOffset[]>;
  /** Leaves the group (partitions move at once, no session timeout) and stops. */
  close(): Promise<void>;
}
