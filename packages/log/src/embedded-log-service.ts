import { ProducerIdAllocator } from "./storage/producer-id-allocator.js";
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { DirLock } from "./storage/dir-lock.js";
import { lockOnFullDisk } from "./storage/lock-on-full-disk.js";
import { storageLogger } from "./storage/storage-logger.js";
import { DEFAULT_RESERVE_BYTES, DiskReserve } from "./storage/disk-reserve.js";
import { InvalidArgumentError, InvalidNameError, StorageError, TributaryError } from "./errors.js";
import { GroupCoordinator } from "./groups/group-coordinator.js";
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
} from "./client/log-client.js";
import type {
  FetchOptions,
  FetchRequest,
  FetchResponse,
  GroupMemberRef,
  HeartbeatResponse,
  JoinGroupRequest,
  InitTransactionRequest,
  JoinGroupResponse,
  LogService,
  ProduceAck,
  TxnOffsetCommitRequest,
  TxnProducerRef,
} from "./client/log-service.js";
import type { TopicPartition } from "./record.js";
import type { IsolationLevel } from "./client/isolation-level.js";
import { LogTransactions } from "./transactions/log-transactions.js";
import type { TransactionMetadata } from "./transactions/transaction-record.js";
import { isInternalTopic, quoteName } from "./names.js";
import { PartitionLogOffsetJournal } from "./storage/partition-log-offset-journal.js";
import type { PartitionLog } from "./storage/partition-log.js";
import { TopicRegistry } from "./storage/topic-registry.js";
import { fetchedBytes, readPartitions } from "./fetch-reader.js";

export const CONSUMER_OFFSETS_TOPIC = "__consumer_offsets";

export interface EmbeddedLogOptions {
  /** Clock for retention and timestamps; tests move it by hand. */
  now?: () => number;
  /** How often retention and compaction run. Default 30 s; 0 turns them off. */
  maintenanceIntervalMs?: number;
  /** Wait after a group's first join so members starting together share a generation. */
  groupInitialRebalanceDelayMs?: number;
  /**
   * Storage events: each deletion by retention or compaction (info), a partition that
   * refuses writes (full disk, no file descriptor) and resumes, truncations and damage
   * found at open (warn). Default: warnings on stderr (storage-logger.ts); the broker
   * passes its own.
   */
  logger?: Logger;
  /**
   * Size of `<data>/.reserve`, the space given up to start on a full disk (disk-reserve.ts).
   * Default 1 MiB; 0 keeps none.
   */
  diskReserveBytes?: number;
  /**
   * How long a partition remembers an idempotent producer with no append (Kafka's broker
   * setting producer.id.expiration.ms). Default one day.
   */
  producerIdExpirationMs?: number;
  /** How often transactions open past their timeout are aborted. Default 1 s; 0: never. */
  transactionTimeoutCheckIntervalMs?: number;
}

/** While read-only after a start on a full disk, produce checks for room at most this often. */
const RESERVE_CHECK_INTERVAL_MS = 1000;

/**
 * The log in-process, on a data directory it holds the lock of. It is the LogService the
 * broker serves, and, wrapped in a ServiceLogClient, the embedded LogClient.
 *
 * Responsible for: the data-dir lock; topics (through the TopicRegistry); produce and
 * long-poll fetch over partition logs; consumer groups and their committed offsets (in the
 * compacted `__consumer_offsets` topic); the maintenance timer (retention, compaction);
 * and the disk reserve: started on a full disk, it serves reads and group commits and
 * refuses produce with a retriable DISK_FULL until the disk has room again.
 */
export class EmbeddedLogService implements LogService {
  readonly verifiedReads = true;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Wakes each fetch waiting in a long poll. */
  private readonly longPolls = new Set<() => void>();
  /** Set while started on a full disk: what produce is answered until the reserve is back. */
  private readOnly: StorageError | null = null;
  private reserveCheckedAt = 0;
  private readonly producerIds: ProducerIdAllocator;
  private transactions!: LogTransactions;

  private constructor(
    readonly dataDir: string,
    private readonly lock: DirLock,
    private readonly registry: TopicRegistry,
    private readonly groups: GroupCoordinator,
    private readonly now: () => number,
    private readonly reserve: DiskReserve,
    private readonly logger: Logger,
  ) {
    this.producerIds = new ProducerIdAllocator(dataDir);
  }

  static async open(
    dataDir: string,
    options: EmbeddedLogOptions = {},
  ): Promise<EmbeddedLogService> {
    const dir = path.resolve(dataDir);
    fs.mkdirSync(dir, { recursive: true });
    const logger = storageLogger(options.logger);
    const reserve = new DiskReserve(dir, options.diskReserveBytes ?? DEFAULT_RESERVE_BYTES);
    const { lock, diskFull } = lockOnFullDisk(dir, reserve, logger);
    const now = options.now ?? Date.now;
    let registry: TopicRegistry | undefined;
    try {
      registry = TopicRegistry.open(dir, {
        now,
        logger,
        ...(options.producerIdExpirationMs === undefined
          ? {}
          : { producerIdExpirationMs: options.producerIdExpirationMs }),
      });
      if (!registry.has(CONSUMER_OFFSETS_TOPIC)) {
        registry.create(CONSUMER_OFFSETS_TOPIC, {
          partitions: 1,
          config: {
            cleanupPolicy: "compact",
            flushPolicy: "always",
            segmentBytes: 16 * 1024 * 1024,
          },
        });
      }
      const offsetsLog = registry.partition(CONSUMER_OFFSETS_TOPIC, 0);
      const reg = registry;
      const groups = new GroupCoordinator({
        journal: new PartitionLogOffsetJournal(offsetsLog, options.logger),
        offsets: {
          partitionCount: (topic) => reg.get(topic).partitions,
          listOffsets: (topic, spec) => listOffsetsOf(reg, topic, spec),
        },
        now,
        initialRebalanceDelayMs: options.groupInitialRebalanceDelayMs,
      });
      const service = new EmbeddedLogService(dir, lock, registry, groups, now, reserve, logger);
      if (diskFull) {
        service.readOnly = new StorageError(
          `the log at ${dir} started on a full disk and refuses produce (reads and group commits work): free space on its file system; produce resumes by itself once there is room for the ${reserve.bytes}-byte ${reserve.path} and as much again`,
          Object.assign(new Error("no space left on device"), { code: "ENOSPC" }),
        );
      } else if (!reserve.ensure()) {
        logger.warn(
          { event: "no-disk-reserve", freeBytes: reserve.freeBytes() },
          `the disk holding ${dir} is nearly full: no room for the ${reserve.bytes}-byte ${reserve.path} that lets the log start on a full disk`,
        );
      }
      if (!diskFull) service.reserveProducerIds();
      service.transactions = await LogTransactions.open({
        registry,
        groups,
        allocateProducerId: async () => service.producerIds.allocate().producerId,
        logger,
        now,
        ...(options.transactionTimeoutCheckIntervalMs === undefined
          ? {}
          : { timeoutCheckIntervalMs: options.transactionTimeoutCheckIntervalMs }),
      });
      service.startMaintenance(options.maintenanceIntervalMs ?? 30_000);
      return service;
    } catch (err) {
      await registry?.close();
      lock.release();
      throw err;
    }
  }

  async createTopic(name: string, options: CreateTopicOptions): Promise<void> {
    this.checkOpen();
    if (isInternalTopic(name)) {
      // Reserved, as in Kafka: the broker makes its own internal topics, and clients cannot
      // produce to them, so a user topic named so could be created but never written.
      throw new InvalidNameError(
        "INVALID_TOPIC_NAME",
        `topic name ${quoteName(name)} starts with "__", which is reserved for the broker's internal topics: choose a name without the leading "__"`,
      );
    }
    if (options.ifNotExists && this.registry.has(name)) return;
    this.registry.create(name, { partitions: options.partitions, config: options.config });
  }

  async deleteTopic(name: string): Promise<void> {
    this.checkOpen();
    if (isInternalTopic(name)) {
      throw new InvalidArgumentError(`'${name}' is an internal topic and cannot be deleted`);
    }
    await this.registry.delete(name);
  }

  async listTopics(includeInternal: boolean): Promise<string[]> {
    return this.registry
      .list()
      .filter((t) => includeInternal || !isInternalTopic(t))
      .sort();
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    const meta = this.registry.get(name);
    const partitions = [];
    for (let p = 0; p < meta.partitions; p++) {
      const log = this.registry.partition(name, p);
      partitions.push({
        partition: p,
        logStartOffset: log.logStartOffset,
        logEndOffset: log.highWatermark,
        sizeBytes: log.sizeInBytes,
        segments: log.segmentCount,
        ...(log.lastRetentionDeletion === null
          ? {}
          : { lastRetentionDeletion: { ...log.lastRetentionDeletion } }),
      });
    }
    return { name, partitions, config: meta.config, internal: isInternalTopic(name) };
  }

  async partitionCount(topic: string): Promise<number> {
    return this.registry.get(topic).partitions;
  }

  async listOffsets(
    topic: string,
    spec: OffsetSpec,
    isolation?: IsolationLevel,
  ): Promise<PartitionOffset[]> {
    return listOffsetsOf(this.registry, topic, spec, isolation);
  }

  /** Reserves producer ids at open; on a full disk the first initProducerId tries again. */
  private reserveProducerIds(): void {
    try {
      this.producerIds.reserveBlock();
    } catch (err) {
      if (!(err instanceof StorageError)) throw err;
    }
  }

  async initProducerId(
    transaction?: InitTransactionRequest,
  ): Promise<{ producerId: number; producerEpoch: number }> {
    this.checkOpen();
    if (transaction !== undefined) return this.transactions.initProducerId(transaction);
    return this.producerIds.allocate();
  }

  /** A transactional id's coordinator state (a copy), for tools and tests; undefined if unknown. */
  transactionState(transactionalId: string): TransactionMetadata | undefined {
    return this.transactions.coordinator.describe(transactionalId);
  }

  async addPartitionsToTxn(
    request: TxnProducerRef & { partitions: TopicPartition[] },
  ): Promise<void> {
    this.checkOpen();
    return this.transactions.addPartitions(request);
  }

  async txnOffsetCommit(request: TxnOffsetCommitRequest): Promise<void> {
    this.checkOpen();
    return this.transactions.txnOffsetCommit(request);
  }

  async endTxn(request: TxnProducerRef & { commit: boolean }): Promise<void> {
    this.checkOpen();
    return this.transactions.endTxn(request);
  }

  produce(topic: string, partition: number, batch: Buffer): Promise<ProduceAck> {
    this.checkOpen();
    if (isInternalTopic(topic)) {
      return Promise.reject(
        new InvalidArgumentError(`'${topic}' is an internal topic: clients cannot produce to it`),
      );
    }
    const log = this.registry.partition(topic, partition);
    if (this.readOnly !== null && !this.leaveReadOnly()) return Promise.reject(this.readOnly);
    try {
      this.transactions.verifyProduce(topic, partition, batch);
    } catch (err) {
      return Promise.reject(err);
    }
    return log.append(batch);
  }

  /** Read-only after a start on a full disk: true once the reserve could be written back. */
  private leaveReadOnly(): boolean {
    const t = Date.now();
    if (t - this.reserveCheckedAt < RESERVE_CHECK_INTERVAL_MS) return false;
    this.reserveCheckedAt = t;
    if (!this.reserve.ensure()) return false;
    this.readOnly = null;
    this.logger.info(
      { event: "read-write", dataDir: this.dataDir },
      `the disk holding ${this.dataDir} has room again: produce is taken again`,
    );
    return true;
  }

  async fetch(requests: FetchRequest[], options: FetchOptions): Promise<FetchResponse[]> {
    this.checkOpen();
    const logs = requests.map((r) => this.logOrError(r));
    let responses = readPartitions(requests, logs, options.maxBytes, options.isolation);
    if (options.maxWaitMs <= 0 || fetchedBytes(responses) >= Math.max(1, options.minBytes)) {
      return responses;
    }
    // Long poll: wake on the first append to any requested partition, at maxWaitMs, or
    // when the log closes (a broker stopping answers its long polls instead of waiting).
    await new Promise<void>((resolve) => {
      const unsubscribes: (() => void)[] = [];
      const done = () => {
        clearTimeout(timer);
        this.longPolls.delete(done);
        for (const u of unsubscribes) u();
        resolve();
      };
      const timer = setTimeout(done, options.maxWaitMs);
      this.longPolls.add(done);
      for (const log of logs) if (!(log instanceof Error)) unsubscribes.push(log.onAppend(done));
    });
    if (this.closed) return responses;
    responses = readPartitions(requests, logs, options.maxBytes, options.isolation);
    return responses;
  }

  private logOrError(r: FetchRequest): PartitionLog | TributaryError {
    try {
      return this.registry.partition(r.topic, r.partition);
    } catch (err) {
      if (err instanceof TributaryError) return err;
      throw err;
    }
  }

  joinGroup(request: JoinGroupRequest): Promise<JoinGroupResponse> {
    this.checkOpen();
    for (const t of request.topics) this.registry.get(t); // unknown topics fail the join
    return this.groups.joinGroup(request);
  }

  heartbeat(request: GroupMemberRef): Promise<HeartbeatResponse> {
    return this.groups.heartbeat(request);
  }

  leaveGroup(request: { groupId: string; memberId: string }): Promise<void> {
    return this.groups.leaveGroup(request);
  }

  commitOffsets(request: GroupMemberRef & { offsets: CommittedOffset[] }): Promise<void> {
    this.checkOpen();
    return this.groups.commitOffsets(request);
  }

  async fetchOffsets(
    groupId: string,
    topics?: string[],
    requireStable?: boolean,
  ): Promise<CommittedOffset[]> {
    if (requireStable === true) this.transactions.checkStableOffsets(groupId, topics);
    return this.groups.fetchOffsets(groupId, topics);
  }

  listGroups(): Promise<GroupOverview[]> {
    return this.groups.listGroups();
  }

  describeGroup(groupId: string): Promise<GroupDescription> {
    return this.groups.describeGroup(groupId);
  }

  resetOffsets(
    groupId: string,
    spec: OffsetResetSpec,
    options: { topics?: string[]; dryRun?: boolean },
  ): Promise<OffsetResetPlanRow[]> {
    this.checkOpen();
    return this.groups.resetOffsets(groupId, spec, options);
  }

  deleteGroup(groupId: string): Promise<void> {
    this.checkOpen();
    return this.groups.deleteGroup(groupId);
  }

  /**
   * Runs retention and compaction over every partition once (the timer calls this). A
   * partition that fails (a corrupt segment, a failed disk write) does not keep the others
   * from their retention: every partition is tried, then the failures are thrown together.
   */
  runMaintenance(): void {
    const now = this.now();
    const failures: Error[] = [];
    for (const topic of this.registry.list()) {
      const meta = this.registry.get(topic);
      for (let p = 0; p < meta.partitions; p++) {
        try {
          const log = this.registry.partition(topic, p);
          if (meta.config.cleanupPolicy !== "compact") log.applyRetention(now);
          if (meta.config.cleanupPolicy !== "delete") log.compact(now);
        } catch (err) {
          failures.push(err as Error);
        }
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      throw new AggregateError(
        failures,
        `log maintenance failed on ${failures.length} partitions: ${failures.map((e) => e.message).join("; ")}`,
      );
    }
  }

  private startMaintenance(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.maintenanceTimer = setInterval(() => {
      try {
        this.runMaintenance();
      } catch (err) {
        process.emitWarning(`log maintenance failed: ${(err as Error).message}`);
      }
    }, intervalMs);
    this.maintenanceTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.maintenanceTimer !== undefined) clearInterval(this.maintenanceTimer);
    for (const wake of [...this.longPolls]) wake();
    this.transactions?.close();
    await this.groups.close();
    await this.registry.close();
    this.lock.release();
  }

  private checkOpen(): void {
    if (this.closed) throw new TributaryError("CLOSED", `the log at ${this.dataDir} is closed`);
  }
}

function listOffsetsOf(
  registry: TopicRegistry,
  topic: string,
  spec: OffsetSpec,
  isolation?: IsolationLevel,
): PartitionOffset[] {
  const meta = registry.get(topic);
  const out: PartitionOffset[] = [];
  for (let p = 0; p < meta.partitions; p++) {
    const log = registry.partition(topic, p);
    let offset: number;
    if (spec === "earliest") offset = log.logStartOffset;
    else if (spec === "latest") {
      offset = isolation === "read_committed" ? log.lastStableOffset : log.highWatermark;
    } else if (typeof spec !== "object" || spec === null || !Number.isSafeInteger(spec.timestamp)) {
      throw new InvalidArgumentError(
        `offset spec ${JSON.stringify(spec)} is not one of "earliest", "latest" or { timestamp: <ms> }`,
      );
    }
    // No record that new: the end, where the next record will be (what a reset wants).
    else offset = log.offsetForTimestamp(spec.timestamp) ?? log.highWatermark;
    out.push({ topic, partition: p, offset });
  }
  return out;
}
