import type { WarnFields } from "./worker-options.js";
import * as os from "node:os";
import type { LogClient, Producer } from "@tributary/log";
import type { Worker } from "./worker.js";

/** The compacted topic where workers say what they run; `tributary console` reads it.
 * One underscore: names starting with two are the log's own, which clients cannot write. */
export const APP_STATUS_TOPIC = "_tributary_apps";
/** How often a worker republishes its status. A reader takes a status older than three
 * intervals for a worker that died without saying so (SIGKILL, lost host). */
export const APP_STATUS_INTERVAL_MS = 2000;
/** Longest a stopping worker waits for its last status (a broker that is gone must not
 * hold up a stop or a failure: the console then shows the worker as stale). */
const STOP_WAIT_MS = 3000;
/** Publishers made in this process so far: numbers each one, so two workers of one process
 * (the same default client id) publish under two keys instead of overwriting each other. */
let publishers = 0;

/**
 * One worker's status, the value of a record in APP_STATUS_TOPIC (JSON, UTF-8), keyed by
 * `<applicationId>/<memberId>` (UTF-8), memberId = `<host>:<pid>:<clientId>:<n>` with n
 * numbering the workers started in that process (unique per worker instance). A worker that stops cleanly writes a tombstone
 * (null value) under its key; one that fails writes a last status with state "failed".
 *
 *   AppStatus => { v: 1, applicationId: string, memberId: string, clientId: string,
 *                  host: string, pid: int, state: WorkerState, publishedAt: ms,
 *                  intervalMs: int, error?: string,
 *                  topology: { text: string, mermaid: string },
 *                  tasks: [TaskStatus], metrics: WorkerMetrics (without lag) }
 *   TaskStatus => { id: string, stores: [StoreStatus] }
 *   StoreStatus => { name: string, changelogTopic: string | null,
 *                    restore: { done: int, total: int } | null }
 *
 * `restore` is the last restore progress reported for the store in this task (null: none
 * was needed, or the store is in memory without a changelog); done = total is finished.
 */
export interface AppStatus {
  v: 1;
  applicationId: string;
  memberId: string;
  clientId: string;
  host: string;
  pid: number;
  state: string;
  publishedAt: number;
  intervalMs: number;
  error?: string;
  topology: { text: string; mermaid: string };
  tasks: { id: string; stores: StoreStatus[] }[];
  metrics: {
    recordsProcessed: number;
    recordsSent: number;
    deadLettered: number;
    commits: number;
    totalLag: number;
    restored: number;
  };
}

export interface StoreStatus {
  name: string;
  changelogTopic: string | null;
  restore: { done: number; total: number } | null;
}

/**
 * Publishes a worker's AppStatus every APP_STATUS_INTERVAL_MS while it runs, and a
 * tombstone (clean stop) or a last "failed" status when it ends. Best effort: the status
 * is for people looking at the console, so a failed publish is reported through `warn`
 * (and counted) and never stops the worker.
 */
export class AppStatusPublisher {
  private log: LogClient | null = null;
  private producer: Producer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<void> = Promise.resolve();
  private clientId = "";
  private warn: (message: string, fields?: WarnFields) => void = () => {};
  private readonly restores = new Map<string, { done: number; total: number }>();
  private topicReady = false;
  /** The topology's text and Mermaid descriptions, made once (they never change). */
  private described: AppStatus["topology"] | null = null;
  /** Publishes that failed (each reported through `warn`). */
  failures = 0;

  private readonly instance = ++publishers;

  constructor(private readonly worker: Worker) {}

  get memberId(): string {
    return `${os.hostname()}:${process.pid}:${this.clientId}:${this.instance}`;
  }

  start(
    log: LogClient,
    clientId: string,
    warn?: (message: string, fields?: WarnFields) => void,
  ): void {
    this.log = log;
    this.clientId = clientId;
    if (warn !== undefined) this.warn = warn;
    this.producer = log.producer({
      clientId: `${clientId}-status`,
      deliveryTimeoutMs: STOP_WAIT_MS,
    });
    this.schedule();
    this.timer = setInterval(() => this.schedule(), APP_STATUS_INTERVAL_MS);
    this.timer.unref();
  }

  restoreProgress(taskId: string, store: string, done: number, total: number): void {
    this.restores.set(`${taskId}/${store}`, { done, total });
  }

  /** Stops publishing; a clean stop leaves a tombstone, a failure a last status. */
  async stop(error?: Error): Promise<void> {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    const last = this.inflight.then(() =>
      this.send(this.key(), error === undefined ? null : this.encode(error)),
    );
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = await Promise.race([
      last.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), STOP_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (gaveUp) {
      this.failures++;
      this.warn(
        `last app status not written to ${APP_STATUS_TOPIC} within ${STOP_WAIT_MS} ms; the console shows this worker as stale`,
        { event: "app-status-not-published", topic: APP_STATUS_TOPIC },
      );
    }
    await this.producer?.close().catch(() => {});
    this.producer = null;
  }

  private schedule(): void {
    // One publish at a time: a slow log delays the next status instead of piling them up.
    this.inflight = this.inflight.then(() => this.send(this.key(), this.encode()));
  }

  private key(): Buffer {
    return Buffer.from(`${this.worker.topology.applicationId}/${this.memberId}`);
  }

  private async send(key: Buffer, value: Buffer | null): Promise<void> {
    const { log, producer } = this;
    if (log === null || producer === null) return;
    try {
      if (!this.topicReady) {
        await log.admin.createTopic(APP_STATUS_TOPIC, {
          partitions: 1,
          config: { cleanupPolicy: "compact" },
          ifNotExists: true,
        });
        this.topicReady = true;
      }
      await producer.send(APP_STATUS_TOPIC, [{ key, value }]);
    } catch (e) {
      this.failures++;
      this.warn(
        `app status not published to ${APP_STATUS_TOPIC} (${e instanceof Error ? e.message : String(e)}); the console shows this worker as stale until the next one succeeds`,
        {
          event: "app-status-not-published",
          topic: APP_STATUS_TOPIC,
          ...(typeof (e as { code?: unknown }).code === "string"
            ? { code: (e as { code: string }).code }
            : {}),
        },
      );
    }
  }

  private encode(error?: Error): Buffer {
    const { worker } = this;
    const { topology } = worker;
    const { lag: _lag, state, tasks, ...metrics } = worker.metrics();
    if (this.described === null) {
      const description = topology.describe();
      this.described = { text: description.toString(), mermaid: description.toMermaid() };
    }
    const status: AppStatus = {
      v: 1,
      applicationId: topology.applicationId,
      memberId: this.memberId,
      clientId: this.clientId,
      host: os.hostname(),
      pid: process.pid,
      state: error === undefined ? state : "failed",
      publishedAt: Date.now(),
      intervalMs: APP_STATUS_INTERVAL_MS,
      ...(error === undefined ? {} : { error: error.message }),
      topology: this.described,
      tasks: tasks.map((id) => {
        const sub = topology.subtopologies.find((s) => `${s.id}` === id.split("_")[0]);
        return {
          id,
          stores: (sub?.stores ?? []).map((s) => ({
            name: s.name,
            changelogTopic: s.changelogTopic,
            restore: this.restores.get(`${id}/${s.name}`) ?? null,
          })),
        };
      }),
      metrics,
    };
    return Buffer.from(JSON.stringify(status));
  }
}
