import type { Consumer, LogClient } from "@tributary/log";

/** Where workers publish their status (see @tributary/streams' app-status-publisher.ts,
 * whose grammar this reader follows; docs/console.md shows it too). */
export const APP_STATUS_TOPIC = "_tributary_apps";

/**
 * One worker's status as published (the fields the console uses): who (app, member,
 * process), when (published at, and how often it publishes), what it runs (topology,
 * tasks with their stores' restore progress) and how it is doing (state, metrics).
 */
export interface MemberStatus {
  applicationId: string;
  memberId: string;
  clientId: string;
  host: string;
  pid: number;
  publishedAt: number;
  intervalMs: number;
  topology: { text: string; mermaid: string };
  tasks: TaskStatus[];
  state: string;
  error?: string;
  metrics: Record<string, number>;
}

export interface TaskStatus {
  id: string;
  stores: { name: string; changelogTopic: string | null; restore: RestoreProgress | null }[];
}

/** Changelog records replayed into the store so far, out of `total`. */
export interface RestoreProgress {
  done: number;
  total: number;
}

export interface AppView {
  applicationId: string;
  /** From the member that published last (members of one app run one topology). */
  topology: { text: string; mermaid: string };
  members: (MemberStatus & { stale: boolean })[];
}

export interface AppsView {
  apps: AppView[];
  /** Records of the topic that were not app statuses (skipped, counted). */
  skipped: number;
  /** A failure to read the topic, else why the last skipped record was skipped. */
  error: string | null;
}

/**
 * Follows APP_STATUS_TOPIC from its start with a group-less consumer and keeps the latest
 * status per key (a tombstone removes it): the apps the console shows. A status not
 * renewed within three of its publisher's intervals is shown as stale (its worker died
 * without a tombstone, or cannot reach the log). Until a worker creates the topic the
 * reader looks for it every `retryMs`.
 */
export class AppStatusReader {
  private readonly statuses = new Map<string, MemberStatus>();
  private consumer: Consumer | null = null;
  private loop: Promise<void> | null = null;
  private stopped = false;
  private skipped = 0;
  /** The last read failure, cleared by the next good poll. */
  private error: string | null = null;
  /** Why the last skipped record was skipped (kept: a skip is not undone by later reads). */
  private lastSkip: string | null = null;

  constructor(
    private readonly log: LogClient,
    private readonly retryMs = 1000,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  view(now = Date.now()): AppsView {
    const byApp = new Map<string, MemberStatus[]>();
    for (const s of this.statuses.values()) {
      const list = byApp.get(s.applicationId) ?? [];
      list.push(s);
      byApp.set(s.applicationId, list);
    }
    const apps = [...byApp.entries()].map(([applicationId, members]): AppView => {
      members.sort((a, b) => a.memberId.localeCompare(b.memberId));
      const freshest = members.reduce((a, b) => (b.publishedAt > a.publishedAt ? b : a));
      return {
        applicationId,
        topology: freshest.topology,
        members: members.map((m) => ({
          ...m,
          stale: now - m.publishedAt > 3 * m.intervalMs,
        })),
      };
    });
    apps.sort((a, b) => a.applicationId.localeCompare(b.applicationId));
    return { apps, skipped: this.skipped, error: this.error ?? this.lastSkip };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.consumer === null && !(await this.subscribe())) {
          await sleep(this.retryMs);
          continue;
        }
        const fetched = await this.consumer!.poll({ maxWaitMs: 500 });
        for (const f of fetched) {
          for (const r of f.records) this.apply(r.offset, r.key, r.value);
        }
        this.error = null;
      } catch (e) {
        this.error = `reading ${APP_STATUS_TOPIC}: ${e instanceof Error ? e.message : String(e)}`;
        await this.consumer?.close().catch(() => {});
        this.consumer = null;
        await sleep(this.retryMs);
      }
    }
    await this.consumer?.close().catch(() => {});
  }

  /** Assigns the topic's partitions from their start; false while the topic does not exist. */
  private async subscribe(): Promise<boolean> {
    const topics = await this.log.admin.listTopics({ includeInternal: true });
    if (!topics.includes(APP_STATUS_TOPIC)) return false;
    const starts = await this.log.admin.listOffsets(APP_STATUS_TOPIC, "earliest");
    const consumer = this.log.consumer({
      clientId: "tributary-console",
      autoOffsetReset: "earliest",
    });
    consumer.assign(starts.map((s) => ({ topic: s.topic, partition: s.partition })));
    for (const s of starts) consumer.seek(s, s.offset);
    // Statuses are re-read from the start: what was kept from a previous read is replaced.
    this.statuses.clear();
    this.consumer = consumer;
    return true;
  }

  private apply(offset: number, key: Buffer | null, value: Buffer | null): void {
    if (key === null) {
      this.skip(offset, "it has no key");
      return;
    }
    const k = key.toString("utf8");
    if (value === null) {
      this.statuses.delete(k);
      return;
    }
    let status: unknown;
    try {
      status = JSON.parse(value.toString("utf8"));
    } catch (e) {
      this.skip(offset, `its value is not JSON (${(e as Error).message})`);
      return;
    }
    const problem = statusProblem(status);
    if (problem !== null) {
      this.skip(offset, problem);
      return;
    }
    this.statuses.set(k, status as MemberStatus);
  }

  private skip(offset: number, why: string): void {
    this.skipped++;
    this.lastSkip = `skipped the record at offset ${offset} of ${APP_STATUS_TOPIC}: ${why}`;
  }
}

function statusProblem(s: unknown): string | null {
  if (typeof s !== "object" || s === null) return "its value is not an object";
  const o = s as Record<string, unknown>;
  if (o.v !== 1) return `its version is ${JSON.stringify(o.v)}, this console reads version 1`;
  for (const f of ["applicationId", "memberId", "state"] as const) {
    if (typeof o[f] !== "string") return `its field '${f}' is not a string`;
  }
  for (const f of ["publishedAt", "intervalMs"] as const) {
    if (typeof o[f] !== "number") return `its field '${f}' is not a number`;
  }
  const t = o.topology as Record<string, unknown> | undefined;
  if (typeof t?.mermaid !== "string" || typeof t.text !== "string") {
    return "its field 'topology' lacks the text and Mermaid descriptions";
  }
  if (!Array.isArray(o.tasks)) return "its field 'tasks' is not a list";
  return null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
