import { mapEntry } from "./map-entry.js";

/**
 * Counters of one worker process, per task: records a source sent and a sink wrote,
 * dead-lettered records, failures and restarts, plus gauges (lag). `toPrometheus()`
 * renders them in Prometheus' text format (counters end in `_total`), which the worker
 * writes to a file a node_exporter textfile collector can pick up.
 */
export class ConnectMetrics {
  private readonly counters = new Map<string, Map<string, number>>();
  private readonly gauges = new Map<string, Map<string, number>>();

  count(name: string, task: string, by = 1): void {
    const perTask = mapEntry(this.counters, name, () => new Map<string, number>());
    perTask.set(task, (perTask.get(task) ?? 0) + by);
  }

  gauge(name: string, task: string, value: number): void {
    mapEntry(this.gauges, name, () => new Map<string, number>()).set(task, value);
  }

  total(name: string): number {
    let sum = 0;
    for (const v of this.counters.get(name)?.values() ?? []) sum += v;
    for (const v of this.gauges.get(name)?.values() ?? []) sum += v;
    return sum;
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
