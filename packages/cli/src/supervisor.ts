import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { TaskMetrics, WorkerMetrics } from "@tributary/streams";
import type { CaughtUpTracker } from "./caught-up.js";
import { ConnectTaskTotals } from "./connect-task-totals.js";
import { CliError } from "./errors.js";
import type { ProgressSnapshot, ProgressView } from "./progress-view.js";
import type { FromWorker, ToWorker, WorkerSamples, WorkerSpec } from "./worker-messages.js";

export interface SupervisorOptions {
  workers: number;
  spec: Omit<WorkerSpec, "index">;
  /** How to start a worker: node, its flags, and the `tributary _worker` entry. */
  command: { execPath: string; args: string[] };
  tracker?: CaughtUpTracker;
  /** The app's lag by its committed offsets: shown while a worker is not reporting. */
  committedLag?: () => Promise<number>;
  view: ProgressView;
  /** Consecutive early deaths of one worker slot before giving up. */
  maxRestarts?: number;
  stopTimeoutMs?: number;
  /** Durations a worker measured (commits, restores), for the run's histograms. */
  onSamples?: (samples: WorkerSamples) => void;
  /**
   * Connector workers: the run is ready only once every task of every worker serves
   * (reported in their metrics, see ConnectTaskTotals).
   */
  tasksMustServe?: boolean;
}

interface Slot {
  index: number;
  child: ChildProcess | null;
  startedAt: number;
  metrics: WorkerMetrics | null;
  /** Its process reported its first assignment (tasks created, stores restored). */
  assigned: boolean;
  /** The tasks its process said it runs. */
  tasks: string[];
  /** What this slot's earlier processes counted (a restarted one counts from 0). */
  retired: RunTotals;
  retiredTasks: Map<string, TaskMetrics>;
  retiredRebalances: number;
  /** Input offsets its earlier processes lost to retention, per `<topic>-<partition>`. */
  retiredLosses: Map<string, number>;
  failures: number;
  lastError: string | null;
  restore: Map<string, { done: number; total: number }>;
  restartTimer: NodeJS.Timeout | null;
  /** Its worker said its input positions are committed and it reads no more input. */
  inputsStopped: boolean;
}

const BACKOFF_MS = [500, 1000, 2000, 5000, 10_000, 30_000];
// A worker that ran this long before dying was healthy: its next restart starts over.
const HEALTHY_AFTER_MS = 30_000;

/**
 * The process behind `tributary run`: keeps N worker processes alive. A worker that dies
 * is restarted with a growing backoff; one that keeps dying right after start (a bug in
 * the app, a poison record under errorHandling "fail") makes the run give up with the
 * worker's own error rather than loop forever. `stop()` asks every worker to stop
 * (commit, leave the group), waits, and kills what does not exit in time.
 */
export class Supervisor {
  private readonly slots: Slot[] = [];
  /** What connector workers report per task (nothing for `tributary run`). */
  readonly connectTasks = new ConnectTaskTotals();
  private stopping: Promise<void> | null = null;
  private restarting = false;
  private inputsStopped = false;
  private readonly inputsWaiters: (() => void)[] = [];
  private tick: NodeJS.Timeout | null = null;
  private checking = false;
  /**
   * Each slot's worker joins the group as a static member `<run>-worker-<index>`, the
   * same across its restarts: a restarted worker takes its SIGKILLed predecessor's place
   * and partitions at once instead of waiting out the 45 s session. The run id keeps two
   * `tributary run`s of one app (two hosts, or a scale-out) from fencing each other.
   */
  private readonly runId = randomUUID().slice(0, 8);
  private settle!: { resolve: (code: number) => void; reject: (err: Error) => void };
  /** Resolves with the exit code once the run is over (stopped, caught up or given up). */
  readonly finished: Promise<number>;

  constructor(private options: SupervisorOptions) {
    this.finished = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  start(): void {
    for (let i = 0; i < this.options.workers; i++) {
      const slot: Slot = {
        index: i,
        child: null,
        startedAt: 0,
        metrics: null,
        assigned: false,
        tasks: [],
        retired: noTotals(),
        retiredTasks: new Map(),
        retiredRebalances: 0,
        retiredLosses: new Map(),
        failures: 0,
        lastError: null,
        restore: new Map(),
        restartTimer: null,
        inputsStopped: false,
      };
      this.slots.push(slot);
      this.spawn(slot);
    }
    this.tick = setInterval(() => void this.onTick(), 500);
  }

  /** Stops every worker cleanly; the run then finishes with `code`. */
  stop(code = 0, error?: Error): Promise<void> {
    this.stopping ??= (async () => {
      if (this.tick !== null) clearInterval(this.tick);
      await Promise.all(this.slots.map((slot) => this.stopChild(slot)));
      this.options.view.close(this.snapshot());
      if (error !== undefined) this.settle.reject(error);
      else this.settle.resolve(code);
    })();
    return this.stopping;
  }

  /**
   * Tells every worker to read no more input (each finishes what it has and commits its
   * input positions; a worker started later starts so), and resolves once all have.
   */
  stopReadingInputs(): Promise<void> {
    this.inputsStopped = true;
    for (const slot of this.slots) {
      if (slot.child?.connected === true) {
        slot.child.send({ type: "stop-reading-inputs" } satisfies ToWorker);
      }
    }
    return new Promise((resolve) => {
      this.inputsWaiters.push(resolve);
      this.checkInputsStopped();
    });
  }

  /**
   * Stops every worker cleanly and starts them again with `spec` (a promoted version now
   * writing the real outputs); the run goes on.
   */
  async restartWith(spec: Omit<WorkerSpec, "index">): Promise<void> {
    this.restarting = true;
    try {
      await Promise.all(this.slots.map((slot) => this.stopChild(slot)));
    } finally {
      this.restarting = false;
    }
    this.options.spec = spec;
    for (const slot of this.slots) if (this.stopping === null) this.spawn(slot);
  }

  private async stopChild(slot: Slot): Promise<void> {
    if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
    slot.restartTimer = null;
    const child = slot.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("close", resolve));
    if (child.connected) child.send({ type: "stop" } satisfies ToWorker);
    else child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), this.options.stopTimeoutMs ?? 30_000);
    await exited;
    clearTimeout(timer);
  }

  private checkInputsStopped(): void {
    if (this.inputsWaiters.length === 0) return;
    if (this.slots.some((s) => s.child !== null && !s.inputsStopped)) return;
    if (this.slots.every((s) => s.child === null)) return;
    for (const resolve of this.inputsWaiters.splice(0)) resolve();
  }

  private spawn(slot: Slot): void {
    const spec: WorkerSpec = {
      ...this.options.spec,
      index: slot.index,
      groupInstanceId: `run-${this.runId}-worker-${slot.index}`,
      ...(this.inputsStopped ? { inputsStopped: true } : {}),
    };
    slot.inputsStopped = false;
    const { execPath, args } = this.options.command;
    // Its own process group: a terminal's Ctrl-C reaches the supervisor only, which then
    // stops the workers in order instead of them racing it.
    const child = spawn(execPath, [...args, JSON.stringify(spec)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      detached: true,
    });
    slot.child = child;
    slot.startedAt = Date.now();
    slot.metrics = null;
    slot.assigned = false;
    slot.restore.clear();
    child.on("message", (m: FromWorker) => this.onMessage(slot, m));
    // "close", not "exit": it comes after the last IPC message (the final metrics).
    child.on("close", (code, signal) => this.onExit(slot, child, code, signal));
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    switch (m.type) {
      case "started":
        slot.assigned = true;
        slot.tasks = m.tasks;
        this.options.view.message(
          `worker ${slot.index} (pid ${slot.child?.pid}): tasks ${m.tasks.length === 0 ? "none" : m.tasks.join(" ")}`,
        );
        break;
      case "metrics":
        slot.metrics = m.metrics;
        if (m.connectTasks !== undefined) this.connectTasks.report(slot.index, m.connectTasks);
        if (m.samples !== undefined) this.options.onSamples?.(m.samples);
        break;
      case "restore":
        slot.restore.set(`${m.taskId}/${m.store}`, { done: m.done, total: m.total });
        break;
      case "failed":
        slot.lastError = m.message;
        break;
      case "inputs-stopped":
        slot.inputsStopped = true;
        this.checkInputsStopped();
        break;
    }
  }

  private onExit(
    slot: Slot,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (slot.child !== child) return;
    if (slot.metrics !== null) {
      addTotals(slot.retired, slot.metrics);
      addTaskTotals(slot.retiredTasks, slot.metrics.taskMetrics ?? {});
      slot.retiredRebalances += slot.metrics.rebalances ?? 0;
      addCounts(slot.retiredLosses, slot.metrics.lostToRetention ?? {});
    }
    this.connectTasks.retire(slot.index);
    slot.metrics = null;
    slot.assigned = false;
    slot.tasks = [];
    slot.child = null;
    if (this.stopping !== null || this.restarting) return;
    const ranMs = Date.now() - slot.startedAt;
    slot.failures = ranMs >= HEALTHY_AFTER_MS ? 1 : slot.failures + 1;
    const how = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
    const why = slot.lastError === null ? "" : `: ${slot.lastError}`;
    if (slot.failures > (this.options.maxRestarts ?? 5)) {
      void this.stop(
        1,
        new CliError(
          "WORKERS_FAILED",
          `worker ${slot.index} ${how} ${slot.failures} times in a row${why}: fix the app and run again`,
        ),
      );
      return;
    }
    const delay = BACKOFF_MS[Math.min(slot.failures - 1, BACKOFF_MS.length - 1)]!;
    this.options.view.message(`worker ${slot.index} ${how}${why}; restarting in ${delay} ms`);
    slot.lastError = null;
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (this.stopping === null) this.spawn(slot);
    }, delay);
  }

  private remaining: number | undefined;
  /** The committed lag, while some worker is not reporting its own (null: all are). */
  private lagWhileDown: number | null = null;
  private checkingLag = false;

  private async onTick(): Promise<void> {
    const tracker = this.options.tracker;
    if (tracker !== undefined && !this.checking && this.stopping === null) {
      this.checking = true;
      try {
        const r = await tracker.remaining();
        this.remaining = r.remaining;
        if (r.caughtUp) {
          this.options.view.message("caught up with the input end offsets seen at start: stopping");
          void this.stop(0);
        }
      } catch (err) {
        this.options.view.message(`cannot check progress: ${(err as Error).message}`);
      } finally {
        this.checking = false;
      }
    }
    await this.checkLagWhileDown();
    if (this.stopping === null) this.options.view.update(this.snapshot());
  }

  private async checkLagWhileDown(): Promise<void> {
    const lookup = this.options.committedLag;
    const down = this.slots.some((s) => s.child === null || s.metrics === null);
    if (lookup === undefined || !down) {
      this.lagWhileDown = null;
      return;
    }
    if (this.checkingLag) return;
    this.checkingLag = true;
    try {
      this.lagWhileDown = await lookup();
    } catch {
      // the broker is busy or restarting: keep the last figure
    } finally {
      this.checkingLag = false;
    }
  }

  /** Totals over every worker process of the run, the ones that died included. */
  totals(): RunTotals {
    const t = noTotals();
    for (const s of this.slots) {
      addTotals(t, s.retired);
      if (s.metrics !== null) addTotals(t, s.metrics);
    }
    return t;
  }

  /** Per task, what every worker process counted for it (dead ones included). */
  taskTotals(): Map<string, TaskMetrics> {
    const t = new Map<string, TaskMetrics>();
    for (const s of this.slots) {
      addTaskTotals(t, Object.fromEntries(s.retiredTasks));
      if (s.metrics !== null) addTaskTotals(t, s.metrics.taskMetrics ?? {});
    }
    return t;
  }

  /** Per input partition (`<topic>-<partition>`), offsets every worker process lost to retention. */
  lostToRetention(): Map<string, number> {
    const t = new Map<string, number>();
    for (const s of this.slots) {
      addCounts(t, Object.fromEntries(s.retiredLosses));
      if (s.metrics !== null) addCounts(t, s.metrics.lostToRetention ?? {});
    }
    return t;
  }

  /** Assignments the run's worker processes received (each process's first included). */
  rebalances(): number {
    let n = 0;
    for (const s of this.slots) n += s.retiredRebalances + (s.metrics?.rebalances ?? 0);
    return n;
  }

  /** The run as the progress line shows it: workers, totals, lag, restore. */
  progress(): ProgressSnapshot {
    return this.snapshot();
  }

  private snapshot(): ProgressSnapshot {
    let lag = 0;
    let workers = 0;
    let assigned = 0;
    let restoreDone = 0;
    let restoreTotal = 0;
    let tasksServing = 0;
    let tasksTotal = 0;
    for (const s of this.slots) {
      if (s.child !== null && s.assigned) {
        tasksTotal += s.tasks.length;
        for (const t of s.tasks) if (this.connectTasks.serving(s.index, t)) tasksServing++;
      }
      lag += s.metrics?.totalLag ?? 0;
      if (s.child !== null) workers++;
      if (s.child !== null && s.assigned) assigned++;
      for (const r of s.restore.values()) {
        if (r.done >= r.total) continue;
        restoreDone += r.done;
        restoreTotal += r.total;
      }
    }
    return {
      workers,
      wanted: this.options.workers,
      assigned,
      ...this.totals(),
      lag: this.lagWhileDown ?? lag,
      restoreDone,
      restoreTotal,
      ...(this.options.tasksMustServe === true ? { tasksServing, tasksTotal } : {}),
      ...(this.remaining === undefined ? {} : { remaining: this.remaining }),
    };
  }
}

/** Counts summed over a run's worker processes. */
export interface RunTotals {
  processed: number;
  deadLettered: number;
  deserializationFailed: number;
  droppedLate: number;
  /** Input offsets deleted by retention before a worker read them (skipped). */
  lostToRetention: number;
}

function noTotals(): RunTotals {
  return {
    processed: 0,
    deadLettered: 0,
    deserializationFailed: 0,
    droppedLate: 0,
    lostToRetention: 0,
  };
}

function addCounts(into: Map<string, number>, counts: Record<string, number>): void {
  for (const [k, n] of Object.entries(counts)) into.set(k, (into.get(k) ?? 0) + n);
}

function addTaskTotals(into: Map<string, TaskMetrics>, tasks: Record<string, TaskMetrics>): void {
  for (const [id, m] of Object.entries(tasks)) {
    const t = into.get(id);
    if (t === undefined) {
      into.set(id, { ...m });
      continue;
    }
    t.processed += m.processed;
    t.deadLettered += m.deadLettered;
    t.deserializationFailed += m.deserializationFailed;
    t.droppedLate += m.droppedLate;
    t.cacheHits += m.cacheHits;
    t.cacheMisses += m.cacheMisses;
  }
}

function addTotals(into: RunTotals, m: RunTotals | WorkerMetrics): void {
  into.processed += "processed" in m ? m.processed : m.recordsProcessed;
  into.deadLettered += m.deadLettered;
  into.deserializationFailed += m.deserializationFailed;
  into.droppedLate += m.droppedLate;
  into.lostToRetention += ("processed" in m ? m.lostToRetention : m.recordsLostToRetention) ?? 0;
}
