import type { LogClient, RecordHeaders } from "@tributary/log";
import type { ConfigDef, ConfigOf } from "./config-def.js";

/**
 * The connector API (Kafka Connect's, in TypeScript). A connector is a factory: it
 * declares its config, splits the work into task configs, and makes tasks. Tasks do the
 * work, each in one worker process:
 *  - a source task is polled for records; the runtime sends them to the log and, once
 *    the log acknowledged them, stores the offsets they carry in the offsets topic and
 *    calls `commit` with them (the moment to tell the source system, e.g. confirm an LSN);
 *  - a sink task is handed batches of records read through the connector's consumer
 *    group; once `put` resolves the batch is durable in the target and the runtime
 *    commits the group offsets. A redelivered batch must leave the same result. The
 *    next batch may be handed to `prepare` while a put runs; puts never overlap.
 */
export interface SourceConnector<D extends ConfigDef = ConfigDef> {
  readonly kind: "source";
  /** The name config files use in `type`, e.g. "postgres-source". */
  readonly type: string;
  readonly config: D;
  /** At most `maxTasks` task configs; each becomes one task. */
  taskConfigs(config: ConfigOf<D>, maxTasks: number): Record<string, unknown>[];
  createTask(): SourceTask;
}

export interface SinkConnector<D extends ConfigDef = ConfigDef> {
  readonly kind: "sink";
  readonly type: string;
  readonly config: D;
  createTask(): SinkTask;
}

export type Connector = SourceConnector | SinkConnector;

/** Where a source is (one table, one slot) and how far it got; both JSON values. */
export interface SourceOffset {
  partition: string;
  offset: unknown;
}

export interface SourceRecord {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp?: number;
  headers?: RecordHeaders;
  /** Set on the record after which the source may resume at `offset` (a transaction end). */
  sourceOffset?: SourceOffset;
}

/**
 * Records a source encoded itself into one record batch (RecordBatchBuilder) for
 * `partition` of `topic`, chosen as the log chooses it for a key (partitionForKey), when
 * its context says `encodesBatches`. The runtime appends it as it is: no record object and
 * no copy per record. It carries no source offset.
 */
export interface SourceBatch {
  topic: string;
  partition: number;
  batch: Buffer;
  /** The records in `batch`. */
  records: number;
}

export interface TaskContext {
  /** The connector's name (unique in the file) and this task's number. */
  connector: string;
  task: number;
  log: LogClient;
  warn(message: string): void;
  /** Adds to a named counter of this task (exported as a Prometheus counter). */
  count(name: string, by?: number): void;
  /** Sets a named gauge of this task (exported as a Prometheus gauge). */
  gauge(name: string, value: number): void;
  /** Says whether the task serves (the runtime sets it; /readyz waits for every task). */
  serving(serving: boolean): void;
}

export interface SourceTaskContext extends TaskContext {
  /** The stored offset of a source partition (from the offsets topic), if any. */
  storedOffset(partition: string): unknown;
  /** Whether `poll` may return SourceBatch entries (the log's producer takes them). */
  encodesBatches: boolean;
}

export interface SourceTask {
  start(config: Record<string, unknown>, context: SourceTaskContext): Promise<void>;
  /**
   * The next records, waiting a little when there are none (resolve [] after ~1 s so the
   * runtime can check for stop). Records of one source partition come in order. The
   * runtime calls it again while it still sends the previous batch (never two polls at
   * once): `commit` for that batch may come during the next poll.
   */
  poll(): Promise<(SourceRecord | SourceBatch)[]>;
  /** Offsets of records the log acknowledged, now stored in the offsets topic. */
  commit?(offsets: ReadonlyMap<string, unknown>): Promise<void>;
  /** How far behind the source the task is (e.g. WAL bytes), for progress lines. */
  lag?(): number;
  stop(): Promise<void>;
}

export interface SinkRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

export interface SinkTask {
  start(config: Record<string, unknown>, context: TaskContext): Promise<void>;
  /**
   * Writes the records durably. Throw BadRecordError for a record the target cannot take
   * (it is dead-lettered or fails the task, per `errors.tolerance`); any other error is
   * retried with backoff and the batch redelivered.
   */
  put(records: SinkRecord[]): Promise<void>;
  /**
   * Optional: the CPU work of the `put` that will follow (decoding, building statements),
   * done ahead while the previous put still writes. It must write nothing, wait for
   * nothing and throw nothing: what it cannot do now (a new table, a bad record) is left
   * to `put`, which then does the whole batch as usual.
   */
  prepare?(records: SinkRecord[]): void;
  stop(): Promise<void>;
}

/** Declares a source connector with its config checked by type. */
export function defineSourceConnector<D extends ConfigDef>(c: {
  type: string;
  config: D;
  taskConfigs?: (config: ConfigOf<D>, maxTasks: number) => Record<string, unknown>[];
  createTask(): SourceTask;
}): SourceConnector<D> {
  return {
    kind: "source",
    type: c.type,
    config: c.config,
    taskConfigs: c.taskConfigs ?? ((config) => [config as Record<string, unknown>]),
    createTask: c.createTask,
  };
}

export function defineSinkConnector<D extends ConfigDef>(c: {
  type: string;
  config: D;
  createTask(): SinkTask;
}): SinkConnector<D> {
  return { kind: "sink", type: c.type, config: c.config, createTask: c.createTask };
}
