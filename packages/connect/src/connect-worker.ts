import * as os from "node:os";
import type { LogClient } from "@tributary/log";
import { type ConnectorPlan, tasksForWorker } from "./connect-file.js";
import { ConnectMetrics, type ConnectTaskReport } from "./connect-metrics.js";
import type { TaskContext } from "./connector.js";
import { KeyedTopic, OFFSETS_TOPIC, STATUS_TOPIC } from "./keyed-topic.js";
import { runSinkTask } from "./sink-task-runner.js";
import { runSourceTask } from "./source-task-runner.js";

export type TaskState = "RUNNING" | "RESTARTING" | "STOPPED";

/** What the status topic holds per task (key `task/<id>`). */
export interface TaskStatus {
  connector: string;
  task: string;
  state: TaskState;
  worker: string;
  /** The last failure, kept while the task restarts and after it recovers. */
  error?: string;
  restarts: number;
  at: number;
}

const BACKOFF_MS = [500, 1000, 2000, 5000, 10_000, 30_000];
// A task that ran this long before failing was healthy: its backoff starts over.
const HEALTHY_AFTER_MS = 30_000;

export interface ConnectWorkerOptions {
  log: LogClient;
  plans: ConnectorPlan[];
  /** This worker's number and the number of workers: tasks go round robin. */
  index: number;
  workers: number;
  warn?: (message: string) => void;
}

/**
 * One worker process's share of the connectors' tasks. Each task runs in its own loop;
 * a task that fails is restarted in place with a growing backoff (its status says
 * RESTARTING with the error), so one bad task never stops the others. `stop()` asks each
 * task to finish its current batch (a source stores its offsets, a sink commits) and
 * resolves when all have.
 */
export class ConnectWorker {
  readonly metrics = new ConnectMetrics();
  private stopping = false;
  private readonly wakers = new Set<() => void>();
  private readonly status: KeyedTopic;
  private readonly offsets: KeyedTopic;
  private runs: Promise<void>[] = [];
  readonly taskIds: string[];

  constructor(private readonly options: ConnectWorkerOptions) {
    this.status = new KeyedTopic(options.log, STATUS_TOPIC);
    this.offsets = new KeyedTopic(options.log, OFFSETS_TOPIC);
    this.taskIds = tasksForWorker(options.plans, options.index, options.workers).map(
      (t) => t.task.id,
    );
  }

  async start(): Promise<void> {
    await this.status.ensure();
    await this.offsets.ensure();
    for (const plan of this.options.plans) {
      if (plan.deadLetterTopic !== undefined) {
        await this.options.log.admin.createTopic(plan.deadLetterTopic, {
          partitions: 1,
          ifNotExists: true,
        });
      }
    }
    const mine = tasksForWorker(this.options.plans, this.options.index, this.options.workers);
    this.runs = mine.map(({ plan, task }) => this.supervise(plan, task));
  }

  /** Resolves when every task loop has ended (after stop()). */
  get done(): Promise<void> {
    return Promise.all(this.runs).then(() => {});
  }

  /** Per task of this worker: its counters, gauges, rate and whether it serves. */
  taskReports(): Record<string, ConnectTaskReport> {
    return this.metrics.taskReports();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.wakers) wake();
    await this.done;
    await this.status.close().catch(() => {});
    await this.offsets.close().catch(() => {});
  }

  private async supervise(plan: ConnectorPlan, taskPlan: ConnectorPlan["tasks"][number]) {
    const worker = `${os.hostname()}:${process.pid}`;
    const warn = (m: string) => this.options.warn?.(`${taskPlan.id}: ${m}`);
    let restarts = 0;
    let failures = 0;
    let lastError: string | undefined;
    const report = (state: TaskState) =>
      this.status
        .put([
          [
            `task/${taskPlan.id}`,
            {
              connector: plan.name,
              task: taskPlan.id,
              state,
              worker,
              restarts,
              at: Date.now(),
              ...(lastError === undefined ? {} : { error: lastError }),
            } satisfies TaskStatus,
          ],
        ])
        .catch((err) => warn(`cannot write status: ${(err as Error).message}`));
    while (!this.stopping) {
      const startedAt = Date.now();
      const context: TaskContext = {
        connector: plan.name,
        task: taskPlan.index,
        log: this.options.log,
        warn,
        count: (name, by) => this.metrics.count(name, taskPlan.id, by),
        gauge: (name, value) => this.metrics.gauge(name, taskPlan.id, value),
        serving: (serving) => this.metrics.serving(taskPlan.id, serving),
      };
      this.metrics.task(taskPlan.id, plan.name);
      try {
        await report("RUNNING");
        const stopped = () => this.stopping;
        if (plan.connector.kind === "source") {
          await runSourceTask({
            plan,
            taskPlan,
            task: plan.connector.createTask(),
            log: this.options.log,
            offsets: this.offsets,
            context,
            stopped,
          });
        } else {
          await runSinkTask({
            plan,
            taskPlan,
            task: plan.connector.createTask(),
            log: this.options.log,
            context,
            stopped,
          });
        }
      } catch (err) {
        if (this.stopping) break;
        lastError = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, " ");
        failures = Date.now() - startedAt >= HEALTHY_AFTER_MS ? 1 : failures + 1;
        restarts++;
        this.metrics.serving(taskPlan.id, false);
        this.metrics.count("task_restarts", taskPlan.id);
        const delay = BACKOFF_MS[Math.min(failures - 1, BACKOFF_MS.length - 1)]!;
        warn(`failed: ${lastError}; restarting in ${delay} ms`);
        await report("RESTARTING");
        await this.sleep(delay);
      }
    }
    await report("STOPPED");
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}

/** Reads the status topic: the newest status of every task ever run. */
export async function readTaskStatuses(log: LogClient): Promise<TaskStatus[]> {
  const topic = new KeyedTopic(log, STATUS_TOPIC);
  const topics = await log.admin.listTopics({ includeInternal: true });
  if (!topics.includes(STATUS_TOPIC)) return [];
  const all = await topic.readAll();
  return [...all.values()] as TaskStatus[];
}
