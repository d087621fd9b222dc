import type { WorkerMetrics } from "@tributary/streams";

/*
 * Messages between `tributary run` and its worker processes, over Node's IPC channel
 * (JSON-serialised objects):
 *   supervisor → worker   { type: "stop" }
 *   worker → supervisor   { type: "started", tasks: string[] }
 *                         { type: "metrics", metrics: WorkerMetrics }          (every tick)
 *                         { type: "restore", taskId, store, done, total }      (throttled)
 *                         { type: "failed", message: string }                  (then exit 1)
 */
export type ToWorker = { type: "stop" };

export type FromWorker =
  | { type: "started"; tasks: string[] }
  | { type: "metrics"; metrics: WorkerMetrics }
  | { type: "restore"; taskId: string; store: string; done: number; total: number }
  | { type: "failed"; message: string };

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
}
