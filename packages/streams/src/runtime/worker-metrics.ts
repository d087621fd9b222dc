export type WorkerState = "created" | "starting" | "running" | "stopping" | "stopped" | "failed";

/** A task's counts on this worker since the worker started (a task that closed keeps its
 * last counts), for per-task metrics. */
export interface TaskMetrics {
  /** Input records the task processed. */
  processed: number;
  deadLettered: number;
  deserializationFailed: number;
  droppedLate: number;
  /** Reads of its stores' write-back caches that found the key, and that did not. */
  cacheHits: number;
  cacheMisses: number;
}

export interface WorkerMetrics {
  state: WorkerState;
  tasks: string[];
  /** Per task id, every task this worker has run. */
  taskMetrics: Record<string, TaskMetrics>;
  /** Assignments received (the first one included). */
  rebalances: number;
  recordsProcessed: number;
  /** Records sent to output, repartition and dead-letter topics and acknowledged. */
  recordsSent: number;
  /** Records whose processing or decoding threw, sent to the dead-letter topic. */
  deadLettered: number;
  /** Of those, the records that could not be decoded. */
  deserializationFailed: number;
  /** Records windowed operations and joins dropped because their window had closed. */
  droppedLate: number;
  commits: number;
  /** The commit interval in force: the option, else 1000 ms (100 ms exactly-once). */
  commitIntervalMs?: number;
  /** Records behind the log end, per input partition, as of the last fetch. */
  lag: Record<string, number>;
  totalLag: number;
  /** Changelog records replayed into stores since the worker started. */
  restored: number;
  /**
   * Input offsets never read because retention deleted them first (the worker was behind
   * the topic's retention), since the worker started: in total, and per input partition
   * (`<topic>-<partition>`). Each loss is also a warning (event records-lost-to-retention).
   */
  recordsLostToRetention: number;
  lostToRetention: Record<string, number>;
  /** Standby tasks held here (numStandbyReplicas), and their changelog lag each. */
  standbyTasks?: Record<string, number>;
  /** Changelog records the standby tasks applied since the worker started. */
  standbyRecordsApplied?: number;
}
