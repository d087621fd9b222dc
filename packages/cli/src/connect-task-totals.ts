import type { ConnectTaskReport } from "@tributary/connect";

/**
 * Per connector task, what the worker processes of `tributary connect run` reported: the
 * counters summed over every process that ran the task (a SIGKILLed or restarted one
 * counts from 0 again, so the supervisor keeps what the dead ones had counted), the
 * gauges, rate and serving state of the process running it now.
 */
export class ConnectTaskTotals {
  /** Per worker slot: the last report of its running process. */
  private readonly live = new Map<number, Record<string, ConnectTaskReport>>();
  /** Counters of processes that ended, per task. */
  private readonly retired = new Map<string, ConnectTaskReport>();

  /** The latest report of slot `slot`'s process. */
  report(slot: number, tasks: Record<string, ConnectTaskReport>): void {
    this.live.set(slot, tasks);
  }

  /** Slot `slot`'s process ended: its counts are kept, its gauges dropped. */
  retire(slot: number): void {
    const tasks = this.live.get(slot);
    this.live.delete(slot);
    if (tasks === undefined) return;
    for (const [id, r] of Object.entries(tasks)) {
      const into = this.retired.get(id);
      if (into === undefined) {
        this.retired.set(id, { ...r, serving: false, gauges: {}, recordsPerSec: 0 });
      } else {
        into.counters = addCounters(into.counters, r.counters);
      }
    }
  }

  /** Whether slot `slot`'s process reports task `task` as serving. */
  serving(slot: number, task: string): boolean {
    return this.live.get(slot)?.[task]?.serving === true;
  }

  /** Every task any process ran: counters summed, the rest from the running process. */
  totals(): Map<string, ConnectTaskReport> {
    const out = new Map<string, ConnectTaskReport>();
    for (const [id, r] of this.retired) out.set(id, { ...r, counters: { ...r.counters } });
    for (const tasks of this.live.values()) {
      for (const [id, r] of Object.entries(tasks)) {
        const before = out.get(id);
        out.set(id, {
          ...r,
          counters: before === undefined ? r.counters : addCounters(before.counters, r.counters),
        });
      }
    }
    return out;
  }
}

function addCounters(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}
