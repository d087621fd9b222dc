import type { ConnectTaskReport } from "@tributary/connect";
import type { ProcessingGuarantee, WorkerMetrics } from "@tributary/streams";
import type { LogFormat } from "./worker-logger.js";

/*
 * Messages between `tributary run` and its worker processes, over Node's IPC channel
 * (JSON-serialised objects):
 *   supervisor → worker   { type: "stop" }
 *                         { type: "stop-reading-inputs" }   (a promote: drain, read no input)
 *   worker → supervisor   { type: "started", tasks: string[] }
 *                         { type: "metrics", metrics: WorkerMetrics,           (every tick)
 *                           samples: WorkerSamples, connectTasks? }
 *                         { type: "restore", taskId, store, done, total }      (throttled)
 *                         { type: "failed", message: string }                  (then exit 1)
 *                         { type: "inputs-stopped" }   (its input positions are committed)
 */
export type ToWorker = { type: "stop" } | { type: "stop-reading-inputs" };

export type FromWorker =
  | { type: "started"; tasks: string[] }
  | {
      type: "metrics";
      metrics: WorkerMetrics;
      samples?: WorkerSamples;
      /** A connector worker's per-task figures (ConnectWorker.taskReports). */
      connectTasks?: Record<string, ConnectTaskReport>;
    }
  | { type: "restore"; taskId: string; store: string; done: number; total: number }
  | { type: "failed"; message: string }
  | { type: "inputs-stopped" };

/** Durations a worker measured since its last report, for the run's histograms. */
export interface WorkerSamples {
  /** Each commit's duration, ms. */
  commitMs: number[];
  /** Each task's stores opened and restored, ms. */
  restores: { task: string; ms: number }[];
}

/** What the hidden `_worker` command gets from the supervisor, as one JSON argument. */
export interface WorkerSpec {
  index: number;
  appFile: string;
  /** The broker the supervisor uses, or (with `kafka`) unused. */
  broker: string;
  /** Kafka bootstrap brokers, when the app runs on Kafka. */
  kafka?: string;
  token?: string;
  stateDir: string;
  commitIntervalMs?: number;
  storeEngine?: "rocksdb" | "memory";
  sessionTimeoutMs?: number;
  /** Static group membership for this worker slot (see Supervisor). */
  groupInstanceId?: string;
  /** Where workers serve queries (--query-listen): host:port (worker i on port + i,
   * unless 0) or "off". */
  queryListen?: string;
  /** Overrides the app's processingGuarantee (--processing-guarantee). */
  processingGuarantee?: ProcessingGuarantee;
  /** Overrides the app's numStandbyReplicas (--num-standby-replicas). */
  numStandbyReplicas?: number;
  /** Lowest time first across the worker's tasks (--order-tasks-by-time). */
  orderTasksByTime?: boolean;
  /** How the worker logs on stderr (--log-format; JSON lines when absent). */
  logFormat?: LogFormat;
  /** The app id or connect file name, on every log line. */
  name?: string;
  /** Runs the app as this side-by-side version (`run --as`). */
  version?: {
    name: string;
    outputs: "shadow" | "real";
    /** Never past the live app's committed input offsets (while a shadow). */
    trail: boolean;
  };
  /** Reads no input from the start: the live app of a promote, draining. */
  inputsStopped?: boolean;
}
