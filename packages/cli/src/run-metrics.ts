import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { ProgressSnapshot } from "./progress-view.js";

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
 */
export function runMetricsRegistry(app: string, progress: () => ProgressSnapshot): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const total = (name: string, help: string, read: (p: ProgressSnapshot) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        // A counter read from elsewhere: the supervisor's totals only grow.
        this.reset();
        this.inc(read(progress()));
      },
    });
  total("tributary_app_records_processed_total", "Input records processed", (p) => p.processed);
  total(
    "tributary_app_records_dead_lettered_total",
    "Records sent to the dead-letter topic (processing threw or decoding failed)",
    (p) => p.deadLettered,
  );
  total(
    "tributary_app_records_undecodable_total",
    "Of the dead-lettered records, those that could not be decoded",
    (p) => p.deserializationFailed,
  );
  total(
    "tributary_app_records_dropped_late_total",
    "Records windows and joins dropped because their window had closed",
    (p) => p.droppedLate,
  );
  new Gauge({
    name: "tributary_app_lag_records",
    help: "Records behind the input's end",
    registers,
    collect() {
      this.set(progress().lag);
    },
  });
  new Gauge({
    name: "tributary_app_workers",
    help: "Worker processes running, and wanted",
    labelNames: ["state"],
    registers,
    collect() {
      const p = progress();
      this.set({ state: "running" }, p.workers);
      this.set({ state: "wanted" }, p.wanted);
    },
  });
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
