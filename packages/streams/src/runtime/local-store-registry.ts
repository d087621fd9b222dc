import type { KeyValueBytesStore } from "@tributary/state";
import type { RuntimeStore } from "./store-factory.js";

/** The standby tasks of a worker as queries see them (StandbyTasks). */
export interface StandbySource {
  taskIds(): string[];
  /** Changelog records the standby is behind; undefined: no standby of the task here. */
  lagOf(taskId: string): number | undefined;
  bytesOf(taskId: string, store: string): KeyValueBytesStore | undefined;
}

/** One task's open stores, as the task manager opened them (restored, about to process). */
export interface LocalTask {
  readonly id: string;
  readonly partition: number;
  readonly stores: ReadonlyMap<string, RuntimeStore>;
}

/**
 * The stores a worker has open, per task, for interactive queries. It is responsible for:
 * - knowing which tasks are queryable here: a task is added once its stores are open and
 *   restored, and removed before they close (a query never reaches a closing store);
 * - knowing which tasks are restoring here, so a query for one is answered "not ready"
 *   rather than "not here";
 * - a version that changes with either, so the endpoint publisher republishes at once.
 *
 * - the standby tasks here (numStandbyReplicas), which answer queries that allow stale
 *   results.
 *
 * Tasks suspended during a rebalance stay listed: their stores are open and hold what the
 * task processed, and the task either resumes or is closed (then removed).
 */
export class LocalStoreRegistry {
  private readonly tasks = new Map<string, LocalTask>();
  private readonly restoring = new Set<string>();
  private listeners: (() => void)[] = [];
  private standbySource: StandbySource | null = null;
  version = 0;

  /** The worker's standby tasks (their set changed). */
  setStandbys(source: StandbySource | null): void {
    this.standbySource = source;
    this.changed();
  }

  /** The standby of a task here, for a stale read; undefined: none here. */
  standby(taskId: string): StandbySource | undefined {
    const s = this.standbySource;
    return s !== null && s.lagOf(taskId) !== undefined ? s : undefined;
  }

  standbyIds(): string[] {
    return this.standbySource?.taskIds() ?? [];
  }

  /** The task manager's hook: stores opened (a map) or about to close (null). */
  readonly onTaskStores = (
    taskId: string,
    partition: number,
    stores: ReadonlyMap<string, RuntimeStore> | null,
  ): void => {
    if (stores === null) this.tasks.delete(taskId);
    else {
      this.tasks.set(taskId, { id: taskId, partition, stores });
      this.restoring.delete(taskId);
    }
    this.changed();
  };

  /** Restore progress of one of a task's stores (done = total: finished). */
  restoreProgress(taskId: string, done: number, total: number): void {
    if (taskId === "global" || this.tasks.has(taskId)) return;
    const was = this.restoring.has(taskId);
    if (done < total) this.restoring.add(taskId);
    if (!was && done < total) this.changed();
  }

  task(taskId: string): LocalTask | undefined {
    return this.tasks.get(taskId);
  }

  isRestoring(taskId: string): boolean {
    return this.restoring.has(taskId) && !this.tasks.has(taskId);
  }

  /** Open tasks whose id starts with `<subtopology>_`. */
  tasksOf(subtopology: number): LocalTask[] {
    const prefix = `${subtopology}_`;
    return [...this.tasks.values()].filter((t) => t.id.startsWith(prefix));
  }

  taskIds(): string[] {
    return [...this.tasks.keys()].sort();
  }

  restoringIds(): string[] {
    return [...this.restoring].filter((id) => !this.tasks.has(id)).sort();
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private changed(): void {
    this.version++;
    for (const l of this.listeners) l();
  }
}
