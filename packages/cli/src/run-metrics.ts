import { type RunningMetricsServer, startMetricsServer } from "@tributary/log";
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { note } from "./output.js";
import type { ProgressSnapshot } from "./progress-view.js";

/**
 * The --metrics endpoint of `tributary run` or `tributary connect run` (none without the
 * flag), serving runMetricsRegistry and runReadiness; its address goes to stderr.
 */
export async function serveRunMetrics(
  listen: string | undefined,
  name: string,
  progress: () => ProgressSnapshot,
  kind: "app" | "connect",
): Promise<RunningMetricsServer | undefined> {
  if (listen === undefined) return undefined;
  const server = await startMetricsServer({
    listen,
    registry: runMetricsRegistry(name, progress, kind),
    ready: runReadiness(progress),
  });
  note(`metrics on http://${server.address}/metrics`);
  return server;
}

/**
 * What `tributary run --metrics host:port` serves for Prometheus: the run's totals over
 * every worker process (the ones that died included), read from the supervisor when
 * scraped, labelled with the application id:
 *   tributary_app_records_processed_total, tributary_app_records_dead_lettered_total,
 *   tributary_app_records_undecodable_total, tributary_app_records_dropped_late_total,
 *   tributary_app_lag_records, tributary_app_workers{state=running|wanted},
 *   tributary_app_restore_remaining_records
 * plus the supervisor process's own Node.js metrics. /readyz is ready once every worker
 * runs and no store is restoring.
 *
 * `tributary connect run --metrics` serves the same totals of its connector workers as
 * tributary_connect_* labelled with the connect file's name (records processed: sent by
 * sources and put by sinks; lag: the sinks'), without the stream-only series (decoding,
 * windows, restore).
 */
export function runMetricsRegistry(
  app: string,
  progress: () => ProgressSnapshot,
  kind: "app" | "connect" = "app",
): Registry {
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
  if (kind === "connect") return registry;
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
  return registry;
}

/** /readyz: every worker runs and has reported, and nothing is restoring. */
export function runReadiness(progress: () => ProgressSnapshot): () => true | string {
  return () => {
    const p = progress();
    if (p.workers < p.wanted) return `${p.workers} of ${p.wanted} workers running`;
    if (p.restoreDone < p.restoreTotal)
      return `restoring: ${p.restoreDone} of ${p.restoreTotal} records`;
    return true;
  };
}
