import { type ConnectTaskReport, TASK_COUNTERS, TASK_GAUGES } from "@tributary/connect";
import { type RunningMetricsServer, startMetricsServer } from "@tributary/log";
import type { TaskMetrics } from "@tributary/streams";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { note } from "./output.js";
import type { ProgressSnapshot } from "./progress-view.js";
import type { WorkerSamples } from "./worker-messages.js";

/** What the endpoint reads when scraped: the supervisor's view of the run. */
export interface RunSource {
  progress(): ProgressSnapshot;
  /** Per task, the counts of every worker process (see Supervisor.taskTotals). */
  taskTotals(): ReadonlyMap<string, TaskMetrics>;
  rebalances(): number;
  /** Per input partition (`<topic>-<partition>`), offsets lost to retention (apps only). */
  lostToRetention?(): ReadonlyMap<string, number>;
  /** Connector runs: per task, what its worker processes reported. */
  connectTasks?: { totals(): ReadonlyMap<string, ConnectTaskReport> };
}

export interface RunMetrics {
  readonly server: RunningMetricsServer;
  /** Adds a worker's measured durations to the histograms. */
  observe(samples: WorkerSamples): void;
}

/**
 * The --metrics endpoint of `tributary run` or `tributary connect run` (none without the
 * flag), serving runMetricsRegistry and runReadiness; its address goes to stderr.
 */
export async function serveRunMetrics(
  listen: string | undefined,
  name: string,
  source: RunSource,
  kind: "app" | "connect",
): Promise<RunMetrics | undefined> {
  if (listen === undefined) return undefined;
  const registry = runMetricsRegistry(name, source, kind);
  const server = await startMetricsServer({
    listen,
    registry,
    ready: runReadiness(() => source.progress()),
  });
  note(`metrics on http://${server.address}/metrics`);
  const commits = registry.getSingleMetric("tributary_app_commit_duration_seconds") as
    | Histogram
    | undefined;
  const restores = registry.getSingleMetric("tributary_app_restore_duration_seconds") as
    | Histogram
    | undefined;
  return {
    server,
    observe(samples) {
      for (const ms of samples.commitMs) commits?.observe(ms / 1000);
      for (const r of samples.restores) restores?.observe(r.ms / 1000);
    },
  };
}

/**
 * What `tributary run --metrics host:port` serves for Prometheus: the run's totals over
 * every worker process (the ones that died included), read from the supervisor when
 * scraped, labelled with the application id:
 *   tributary_app_records_processed_total, tributary_app_records_dead_lettered_total,
 *   tributary_app_records_undecodable_total, tributary_app_records_dropped_late_total,
 *   tributary_app_lag_records, tributary_app_workers{state=running|wanted},
 *   tributary_app_restore_remaining_records, tributary_app_rebalances_total,
 *   tributary_app_records_lost_to_retention_total{topic,partition} (input offsets
 *   retention deleted before a worker read them);
 * per task (label `task`, e.g. 0_1):
 *   tributary_app_task_records_processed_total, tributary_app_task_records_dead_lettered_total,
 *   tributary_app_task_records_dropped_late_total, tributary_app_record_cache_hits_total,
 *   tributary_app_record_cache_misses_total;
 * histograms (seconds) of what workers measured:
 *   tributary_app_commit_duration_seconds, tributary_app_restore_duration_seconds (a
 *   task's stores opened and restored from their changelogs);
 * plus the supervisor process's own Node.js metrics. /readyz is ready once every worker
 * has its tasks and no store is restoring.
 *
 * `tributary connect run --metrics` serves the same totals of its connector workers as
 * tributary_connect_* labelled with the connect file's name (records processed: sent by
 * sources and put by sinks; lag: the sinks'), without the stream-only series (decoding,
 * windows, restore), and per connector task the series of registerConnectTaskMetrics;
 * its /readyz also waits for every connector task to serve.
 */
export function runMetricsRegistry(
  app: string,
  source: RunSource,
  kind: "app" | "connect" = "app",
): Registry {
  const progress = () => source.progress();
  const registry = new Registry();
  registry.setDefaultLabels({ [kind]: app });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const prefix = `tributary_${kind}`;
  const total = (name: string, help: string, read: (p: ProgressSnapshot) => number) =>
    new Counter({
      name: `${prefix}_${name}`,
      help,
      registers,
      collect() {
        // A counter read from elsewhere: the supervisor's totals only grow.
        this.reset();
        this.inc(read(progress()));
      },
    });
  total(
    "records_processed_total",
    kind === "app" ? "Input records processed" : "Records sent by sources and put by sinks",
    (p) => p.processed,
  );
  total(
    "records_dead_lettered_total",
    "Records sent to the dead-letter topic (processing threw or decoding failed)",
    (p) => p.deadLettered,
  );
  new Gauge({
    name: `${prefix}_lag_records`,
    help: kind === "app" ? "Records behind the input's end" : "Records sinks are behind",
    registers,
    collect() {
      this.set(progress().lag);
    },
  });
  new Gauge({
    name: `${prefix}_workers`,
    help: "Worker processes running, and wanted",
    labelNames: ["state"],
    registers,
    collect() {
      const p = progress();
      this.set({ state: "running" }, p.workers);
      this.set({ state: "wanted" }, p.wanted);
    },
  });
  if (kind === "connect") {
    registerConnectTaskMetrics(registers, () => source.connectTasks?.totals() ?? new Map());
    return registry;
  }
  total(
    "records_undecodable_total",
    "Of the dead-lettered records, those that could not be decoded",
    (p) => p.deserializationFailed,
  );
  total(
    "records_dropped_late_total",
    "Records windows and joins dropped because their window had closed",
    (p) => p.droppedLate,
  );
  new Gauge({
    name: "tributary_app_restore_remaining_records",
    help: "Changelog records still to restore into stores",
    registers,
    collect() {
      const p = progress();
      this.set(Math.max(0, p.restoreTotal - p.restoreDone));
    },
  });
  new Counter({
    name: "tributary_app_rebalances_total",
    help: "Task assignments the worker processes received (each process's first included)",
    registers,
    collect() {
      this.reset();
      this.inc(source.rebalances());
    },
  });
  new Counter({
    name: "tributary_app_records_lost_to_retention_total",
    help: "Input offsets retention deleted before a worker read them (skipped: the app was behind), per input partition",
    labelNames: ["topic", "partition"],
    registers,
    collect() {
      this.reset();
      for (const [key, n] of source.lostToRetention?.() ?? []) {
        const at = key.lastIndexOf("-");
        this.inc({ topic: key.slice(0, at), partition: key.slice(at + 1) }, n);
      }
    },
  });
  // Per task: series name, help, the count it reads.
  const perTask: [string, string, keyof TaskMetrics][] = [
    ["task_records_processed_total", "Input records processed, per task", "processed"],
    ["task_records_dead_lettered_total", "Records sent to the dead-letter topic", "deadLettered"],
    ["task_records_dropped_late_total", "Records windows and joins dropped as late", "droppedLate"],
    ["record_cache_hits_total", "Store reads the write-back cache answered", "cacheHits"],
    ["record_cache_misses_total", "Store reads the write-back cache did not hold", "cacheMisses"],
  ];
  for (const [name, help, field] of perTask) {
    new Counter({
      name: `tributary_app_${name}`,
      help,
      labelNames: ["task"],
      registers,
      collect() {
        this.reset();
        for (const [task, m] of source.taskTotals()) this.inc({ task }, m[field]);
      },
    });
  }
  new Histogram({
    name: "tributary_app_commit_duration_seconds",
    help: "Commits of the worker processes (stores flushed, outputs and changelogs acknowledged, offsets committed)",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  new Histogram({
    name: "tributary_app_restore_duration_seconds",
    help: "A task's stores opened and restored from their changelogs",
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
    registers,
  });
  return registry;
}

/**
 * Per connector task (labels `task`, e.g. cdc-0, and `connector`), read when scraped:
 * tributary_connect_task_<counter>_total for each of TASK_COUNTERS (records sent, received,
 * put, dead-lettered, restarts, snapshot rows, changes, ...), summed over the worker
 * processes that ran the task; tributary_connect_task_<gauge> for each of TASK_GAUGES
 * (sink lag, replication lag in WAL bytes, confirmed LSN, snapshot progress);
 * tributary_connect_task_records_per_second and tributary_connect_task_serving (0/1).
 */
function registerConnectTaskMetrics(
  registers: Registry[],
  tasks: () => ReadonlyMap<string, ConnectTaskReport>,
): void {
  const labelNames = ["task", "connector"];
  const perTask = (read: (r: ConnectTaskReport) => number | undefined) =>
    function (this: Gauge | Counter) {
      this.reset();
      for (const [task, r] of tasks()) {
        const v = read(r);
        if (v !== undefined) this.inc({ task, connector: r.connector }, v);
      }
    };
  for (const [name, help] of TASK_COUNTERS) {
    new Counter({
      name: `tributary_connect_task_${name}_total`,
      help,
      labelNames,
      registers,
      collect: perTask((r) => r.counters[name] ?? 0),
    });
  }
  const gauge = (name: string, help: string, read: (r: ConnectTaskReport) => number | undefined) =>
    new Gauge({ name, help, labelNames, registers, collect: perTask(read) });
  for (const [name, help] of TASK_GAUGES) {
    gauge(`tributary_connect_task_${name}`, help, (r) => r.gauges[name]);
  }
  gauge(
    "tributary_connect_task_records_per_second",
    "Records a task moved per second lately (sent by a source, put by a sink)",
    (r) => Math.round(r.recordsPerSec * 100) / 100,
  );
  gauge(
    "tributary_connect_task_serving",
    "1 once the task serves (a source's snapshot or stream delivers, a sink polls)",
    (r) => (r.serving ? 1 : 0),
  );
}

/**
 * /readyz: every worker runs and has its tasks (a worker reports them once their stores
 * are restored), no store is restoring (after a later rebalance), and for connectors
 * every task serves (a source's snapshot or catch-up has started delivering).
 */
export function runReadiness(progress: () => ProgressSnapshot): () => true | string {
  return () => {
    const p = progress();
    if (p.workers < p.wanted) return `${p.workers} of ${p.wanted} workers running`;
    if (p.assigned < p.wanted) {
      return `${p.assigned} of ${p.wanted} workers have their tasks (joining the group, restoring stores)`;
    }
    if (p.restoreDone < p.restoreTotal)
      return `restoring: ${p.restoreDone} of ${p.restoreTotal} records`;
    if (p.tasksTotal !== undefined && (p.tasksServing ?? 0) < p.tasksTotal) {
      return `${p.tasksServing ?? 0} of ${p.tasksTotal} connector tasks serving (starting, snapshot or catch-up not begun, or restarting)`;
    }
    return true;
  };
}
