import { mapEntry } from "./map-entry.js";

/**
 * Counters of one worker process, per task: records a source sent and a sink wrote,
 * dead-lettered records, failures and restarts, plus gauges (lag, replication position,
 * snapshot progress) and whether each task serves yet. `toPrometheus()` renders them in
 * Prometheus' text format (counters end in `_total`), which the worker writes to a file a
 * node_exporter textfile collector can pick up; `taskReports()` is what a worker process
 * sends its supervisor, which serves them on `connect run --metrics` (TASK_COUNTERS and
 * TASK_GAUGES name and explain each).
 */
export class ConnectMetrics {
  private readonly counters = new Map<string, Map<string, number>>();
  private readonly gauges = new Map<string, Map<string, number>>();
  /** Per task: its connector, and whether it serves (see `serving`). */
  private readonly tasks = new Map<string, { connector: string; serving: boolean }>();
  /** Per task: records moved at the last rate sample, and when (see `taskReports`). */
  private readonly rateSamples = new Map<string, { at: number; moved: number; perSec: number }>();

  count(name: string, task: string, by = 1): void {
    const perTask = mapEntry(this.counters, name, () => new Map<string, number>());
    perTask.set(task, (perTask.get(task) ?? 0) + by);
  }

  gauge(name: string, task: string, value: number): void {
    mapEntry(this.gauges, name, () => new Map<string, number>()).set(task, value);
  }

  /** Registers a task of `connector` (not serving yet: starting, or restarting). */
  task(task: string, connector: string): void {
    this.tasks.set(task, { connector, serving: false });
  }

  /**
   * Marks whether a task serves: a source once its first poll returned (its snapshot
   * delivers rows, or its stream caught up from the stored position), a sink once it
   * polled its topics; false again while it restarts.
   */
  serving(task: string, serving: boolean): void {
    const t = this.tasks.get(task);
    if (t !== undefined) t.serving = serving;
  }

  total(name: string): number {
    let sum = 0;
    for (const v of this.counters.get(name)?.values() ?? []) sum += v;
    for (const v of this.gauges.get(name)?.values() ?? []) sum += v;
    return sum;
  }

  /**
   * Each task's counters and gauges as of now, and its records moved per second (sent by a
   * source, put by a sink) over the last second or more.
   */
  taskReports(now = Date.now()): Record<string, ConnectTaskReport> {
    const out: Record<string, ConnectTaskReport> = {};
    for (const [task, { connector, serving }] of this.tasks) {
      const counters: Record<string, number> = {};
      const gauges: Record<string, number> = {};
      for (const [name, perTask] of this.counters) {
        const v = perTask.get(task);
        if (v !== undefined) counters[name] = v;
      }
      for (const [name, perTask] of this.gauges) {
        const v = perTask.get(task);
        if (v !== undefined) gauges[name] = v;
      }
      const moved = (counters.records_sent ?? 0) + (counters.records_put ?? 0);
      const sample = mapEntry(this.rateSamples, task, () => ({ at: now, moved, perSec: 0 }));
      if (now - sample.at >= 1000) {
        sample.perSec = ((moved - sample.moved) * 1000) / (now - sample.at);
        sample.at = now;
        sample.moved = moved;
      }
      out[task] = { connector, serving, counters, gauges, recordsPerSec: sample.perSec };
    }
    return out;
  }

  toPrometheus(): string {
    const lines: string[] = [];
    const emit = (kind: string, suffix: string, m: Map<string, Map<string, number>>) => {
      for (const [name, perTask] of [...m].sort()) {
        const metric = `tributary_connect_${name}${suffix}`;
        lines.push(`# TYPE ${metric} ${kind}`);
        for (const [task, v] of perTask) lines.push(`${metric}{task="${task}"} ${v}`);
      }
    };
    emit("counter", "_total", this.counters);
    emit("gauge", "", this.gauges);
    return `${lines.join("\n")}\n`;
  }
}

/** One task's figures, as a worker process reports them to its supervisor. */
export interface ConnectTaskReport {
  connector: string;
  /** The task has started serving (see ConnectMetrics.serving). */
  serving: boolean;
  /** Counts since this worker process started the task (TASK_COUNTERS). */
  counters: Record<string, number>;
  /** Values as of now (TASK_GAUGES). */
  gauges: Record<string, number>;
  /** Records moved per second lately (sent by a source, put by a sink). */
  recordsPerSec: number;
}

/** The per-task counters tasks and the runtime keep, with what each counts. */
export const TASK_COUNTERS: readonly (readonly [name: string, help: string])[] = [
  ["records_sent", "Records a source task sent to the log and the log acknowledged"],
  ["records_received", "Records a sink task read from its topics"],
  ["records_put", "Records a sink task wrote to its target (dead-lettered ones excluded)"],
  ["records_dead_lettered", "Records a sink task sent to the dead-letter topic"],
  [
    "records_lost_to_retention",
    "Offsets of a sink task's topics retention deleted before the task read them (skipped)",
  ],
  ["put_retries", "Batches a sink task retried after a failed put"],
  ["task_restarts", "Times the task failed and was restarted"],
  ["offset_commits", "Source offsets stored (and confirmed to the source) after an ack"],
  ["snapshot_rows", "Rows the Postgres source read in its initial snapshot"],
  ["changes", "Row changes the Postgres source read from the replication stream"],
  ["heartbeats", "Heartbeat records the Postgres source sent"],
  ["truncates_ignored", "TRUNCATEs the Postgres source saw and did not capture"],
  ["rows_upserted", "Rows the Postgres sink inserted or updated"],
  ["rows_deleted", "Rows the Postgres sink deleted"],
  ["batches_prepared", "Sink batches decoded ahead while the previous batch was written"],
  ["files_written", "Files the files sink committed"],
  ["rows_written", "Rows the files sink wrote into committed files"],
  ["records_already_in_files", "Redelivered records the files sink found already in files"],
];

/** The per-task gauges, with what each holds. */
export const TASK_GAUGES: readonly (readonly [name: string, help: string])[] = [
  ["lag", "Records a sink task is behind its topics' end"],
  [
    "replication_lag_bytes",
    "WAL bytes between the server's position and the position the Postgres source confirmed",
  ],
  ["confirmed_lsn", "The LSN the Postgres source last confirmed, as a number (bytes)"],
  ["snapshot_tables", "Tables the Postgres source's snapshot reads"],
  ["snapshot_tables_done", "Of those, the tables read completely"],
  [
    "snapshot_rows_estimated",
    "Rows the snapshot's tables hold by Postgres' statistics (pg_class.reltuples; 0 when never analysed)",
  ],
];
