import type { RuntimeStore } from "./store-factory.js";
import { cacheReads } from "./cache-stats.js";
import { addTaskDrops, noDrops } from "./drop-counts.js";
import type { StreamTask } from "./stream-task.js";
import type { TaskMetrics } from "./worker-metrics.js";

export function noTaskMetrics(): TaskMetrics {
  return {
    processed: 0,
    deadLettered: 0,
    deserializationFailed: 0,
    droppedLate: 0,
    cacheHits: 0,
    cacheMisses: 0,
  };
}

/** `into` plus what a running task counted: its input records, drops and cache reads. */
export function addTaskMetrics(
  into: TaskMetrics,
  t: { task: StreamTask; stores: readonly RuntimeStore[]; processed: number },
): TaskMetrics {
  const drops = noDrops();
  addTaskDrops(drops, t.task, t.stores);
  const m = { ...into };
  m.processed += t.processed;
  m.deadLettered += drops.deadLettered;
  m.deserializationFailed += drops.deserializationFailed;
  m.droppedLate += drops.late;
  for (const s of t.stores) {
    const r = cacheReads(s);
    m.cacheHits += r.hits;
    m.cacheMisses += r.misses;
  }
  return m;
}
