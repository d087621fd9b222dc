import type { LogClient } from "@tributary/log";
import type { InputLimit } from "./input-fence.js";
import type { QueryServerOptions } from "./query-server.js";
import type { ProcessingGuarantee } from "./task-committer.js";

export interface RestoreProgressEvent {
  taskId: string;
  store: string;
  /** Changelog offsets replayed so far, out of `total`. */
  done: number;
  total: number;
}

export interface CommitEvent {
  /** Input partitions whose offsets were committed. */
  partitions: number;
  /** Records processed since the worker started. */
  recordsProcessed: number;
  /** From the start of the commit until its offsets were written. */
  durationMs: number;
  /** How long the worker's loop waited for it: `durationMs` for a commit that blocks, less
   * for one the loop went on from (at-least-once, on the interval). */
  loopWaitMs: number;
}

/** Structured fields of a warning, for a logger (the message says the same in words). */
export type WarnFields = Record<string, string | number | boolean | Record<string, number>>;

export interface TaskRestoredEvent {
  taskId: string;
  /** Opening the task's stores and replaying their changelogs, in ms. */
  durationMs: number;
}

export interface WorkerOptions {
  log: LogClient;
  /** Root of local state: `<stateDir>/<applicationId>/<taskId>/<store>/`. */
  stateDir: string;
  clientId?: string;
  /**
   * How often to commit (DESIGN "Commit"). Default 1000 ms at-least-once: Kafka Streams'
   * 30 s means up to 30 s reprocessed after a crash; 1 s keeps that short while a commit
   * (one changelog append and one RocksDB batch per store) stays cheap next to it. Default
   * 100 ms exactly-once, as Kafka Streams: read_committed readers see outputs only when
   * their transaction commits, so the interval is their latency.
   */
  commitIntervalMs?: number;
  /** Longest a poll waits for records (bounds how late a commit or stop can be). */
  pollMaxWaitMs?: number;
  /** Per store write-back cache. Default 10 MiB. */
  cacheBytesPerStore?: number;
  /**
   * Record cache of each aggregation store (Kafka's statestore.cache.max.bytes): an
   * aggregate forwards its latest change per key when the cache flushes (commit, or this
   * many bytes pending) instead of every update. 0 forwards every update. Default 10 MiB.
   */
  cacheMaxBytes?: number;
  /** "memory" keeps stores in the heap (restored from the changelog at every start). */
  storeEngine?: "rocksdb" | "memory";
  /**
   * The consumer's session timeout (default 45 s, Kafka's): processing yields to the event
   * loop every ~20 ms, so heartbeats flow even during a long batch.
   */
  sessionTimeoutMs?: number;
  /**
   * Kafka's group.instance.id: a static member. A worker restarted with the same id takes
   * its dead predecessor's tasks at once, without a rebalance (`tributary run` gives each
   * worker slot one). Unique per live worker.
   */
  groupInstanceId?: string;
  /** The consumer's max poll interval (default 300 s): see ConsumerOptions. */
  maxPollIntervalMs?: number;
  /** How long to wait for a store lock another process still holds. Default 30 s. */
  storeLockWaitMs?: number;
  /**
   * Kafka's max.task.idle.ms, for tasks reading several partitions (a join, a merge),
   * which process records in time order across them: how long such a task waits for an
   * input partition that has nothing buffered and is caught up (nothing more on the log)
   * before it goes on without it. Default 0: it waits only for records known to be on
   * the log. Negative: it never waits (each input processed as fetched, in time order
   * among what is buffered).
   */
  maxTaskIdleMs?: number;
  /**
   * Lowest time first across this worker's tasks that read one partition: fetched records
   * wait in one queue per partition and the task whose next record has the smallest time
   * (its source's timestamp extractor decides) goes next, so history replays in time order
   * within the worker (within TASK_ORDER_SLACK_MS of record time). At most 8 MiB of keys
   * and values wait per partition (then it is paused). Default true; false: each task runs
   * its batches as fetched. See
   * docs/streams-runtime.md "Replaying history in time order".
   */
  orderTasksByTime?: boolean;
  /** Overrides the app's `idleTimeoutMs` (AppConfig). */
  idleTimeoutMs?: number;
  /**
   * Overrides the app's `processingGuarantee` (AppConfig). Under "exactly_once" the worker
   * has one transactional producer whose id is derived from the app id and
   * `groupInstanceId` (else `clientId`): keep it stable across restarts of the same worker
   * so a restarted worker fences its predecessor.
   */
  processingGuarantee?: ProcessingGuarantee;
  /**
   * Input offsets not to process past, per partition of the app's source topics (see
   * InputFence): a side-by-side version trails the live app's committed offsets with it.
   */
  inputLimit?: InputLimit;
  /**
   * Interactive queries (docs/interactive-queries.md): where the worker serves its local
   * stores over HTTP and the secret it asks for. Default: 127.0.0.1 on a free port, no
   * secret. false: not served.
   */
  query?: QueryServerOptions | false;
  /**
   * Overrides the app's `numStandbyReplicas` (AppConfig): warm copies of each stateful
   * task's stores on that many other workers (docs/streams-runtime.md "Standby replicas").
   * Needs the RocksDB engine.
   */
  numStandbyReplicas?: number;
  /** The standby tasks held here changed (numStandbyReplicas). */
  onStandbyTasks?(taskIds: string[]): void;
  onRestore?(event: RestoreProgressEvent): void;
  onCommit?(event: CommitEvent): void;
  onTasksAssigned?(taskIds: string[]): void;
  /** A task's stores are open and restored: it is about to process. */
  onTaskRestored?(event: TaskRestoredEvent): void;
  /** The error that stopped the worker (also the rejection of `done`). */
  onError?(error: Error): void;
  /** A warning; `fields` carry what it says as data (event, counts, error code). */
  warn?(message: string, fields?: WarnFields): void;
}

/** The commit interval when none is given (see `commitIntervalMs`). */
export function defaultCommitIntervalMs(exactlyOnce: boolean): number {
  return exactlyOnce ? 100 : 1000;
}
