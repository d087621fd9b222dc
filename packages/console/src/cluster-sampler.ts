import type { GroupDescription, LogClient, TopicDescription } from "@tributary/log";
import { BoundedHistory } from "./bounded-history.js";

export interface ClusterSamplerOptions {
  log: LogClient;
  /** How often topics and groups are sampled. Default 2000 ms. */
  intervalMs?: number;
  /** Samples kept per series. Default 300 (10 minutes at 2 s). */
  historySize?: number;
  /** Rates are averaged over this much history. Default 10 s. */
  rateWindowMs?: number;
}

interface PartitionSample {
  start: number;
  end: number;
  size: number;
}

export interface PartitionView {
  partition: number;
  logStartOffset: number;
  logEndOffset: number;
  sizeBytes: number;
  /** Records appended per second over the rate window (0 until two samples exist). */
  recordsPerSec: number;
  bytesPerSec: number;
}

export interface TopicView {
  name: string;
  internal: boolean;
  cleanupPolicy: string;
  partitions: PartitionView[];
}

export interface GroupView {
  groupId: string;
  state: string;
  members: { memberId: string; clientId: string; assignment: string[] }[];
  totalLag: number;
  offsets: {
    topic: string;
    partition: number;
    committed: number;
    logEndOffset: number;
    lag: number;
  }[];
  /** Lag per `topic-partition` over time; `at` in ms since the epoch. */
  history: { at: number; lag: Record<string, number> }[];
}

export interface ClusterView {
  sampledAt: number;
  intervalMs: number;
  topics: TopicView[];
  groups: GroupView[];
  /** The last sampling error, if the last sample failed (the previous data stay shown). */
  error: string | null;
}

/**
 * Samples the log every interval — each topic's partitions (start and end offsets, size)
 * and each consumer group (members, committed offsets, lag) — and keeps a bounded history
 * per partition and per group, from which it computes append rates and draws lag over
 * time. Rates come from end offsets and sizes sampled here, server-side, so every page
 * sees the same numbers and a page opened late still has the history.
 */
export class ClusterSampler {
  private readonly intervalMs: number;
  private readonly historySize: number;
  private readonly rateWindowMs: number;
  private readonly topics = new Map<
    string,
    { description: TopicDescription; history: Map<number, BoundedHistory<PartitionSample>> }
  >();
  private readonly groups = new Map<
    string,
    { description: GroupDescription; history: BoundedHistory<Record<string, number>> }
  >();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private sampledAt = 0;
  private error: string | null = null;

  constructor(private readonly options: ClusterSamplerOptions) {
    this.intervalMs = options.intervalMs ?? 2000;
    this.historySize = options.historySize ?? 300;
    this.rateWindowMs = options.rateWindowMs ?? 10_000;
  }

  /** Takes a first sample (so the first page has data), then one every interval. */
  async start(): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.sample());
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  async sample(): Promise<void> {
    const { admin } = this.options.log;
    const now = Date.now();
    try {
      const names = await admin.listTopics({ includeInternal: true });
      for (const gone of [...this.topics.keys()].filter((n) => !names.includes(n))) {
        this.topics.delete(gone);
      }
      for (const name of names) {
        const description = await describeOrNull(() => admin.describeTopic(name));
        if (description === null) continue; // deleted since the listing
        let t = this.topics.get(name);
        if (t === undefined) {
          t = { description, history: new Map() };
          this.topics.set(name, t);
        }
        t.description = description;
        for (const p of description.partitions) {
          let h = t.history.get(p.partition);
          if (h === undefined) {
            h = new BoundedHistory(this.historySize);
            t.history.set(p.partition, h);
          }
          h.push(now, { start: p.logStartOffset, end: p.logEndOffset, size: p.sizeBytes });
        }
      }
      const overview = await admin.listGroups();
      const ids = overview.map((g) => g.groupId);
      for (const gone of [...this.groups.keys()].filter((g) => !ids.includes(g))) {
        this.groups.delete(gone);
      }
      for (const groupId of ids) {
        const description = await describeOrNull(() => admin.describeGroup(groupId));
        if (description === null) continue;
        let g = this.groups.get(groupId);
        if (g === undefined) {
          g = { description, history: new BoundedHistory(this.historySize) };
          this.groups.set(groupId, g);
        }
        g.description = description;
        const lag: Record<string, number> = {};
        for (const o of description.offsets) lag[`${o.topic}-${o.partition}`] = o.lag;
        g.history.push(now, lag);
      }
      this.sampledAt = now;
      this.error = null;
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
  }

  view(): ClusterView {
    return {
      sampledAt: this.sampledAt,
      intervalMs: this.intervalMs,
      topics: [...this.topics.values()]
        .map(({ description, history }) => this.topicView(description, history))
        .sort((a, b) => a.name.localeCompare(b.name)),
      groups: [...this.groups.values()]
        .map(({ description, history }) => groupView(description, history))
        .sort((a, b) => a.groupId.localeCompare(b.groupId)),
      error: this.error,
    };
  }

  private topicView(
    d: TopicDescription,
    history: Map<number, BoundedHistory<PartitionSample>>,
  ): TopicView {
    return {
      name: d.name,
      internal: d.internal,
      cleanupPolicy: d.config.cleanupPolicy,
      partitions: d.partitions.map((p) => {
        const h = history.get(p.partition);
        const last = h?.last();
        const first = h?.since((last?.at ?? 0) - this.rateWindowMs);
        const seconds = last && first ? (last.at - first.at) / 1000 : 0;
        return {
          partition: p.partition,
          logStartOffset: p.logStartOffset,
          logEndOffset: p.logEndOffset,
          sizeBytes: p.sizeBytes,
          recordsPerSec:
            seconds > 0 ? Math.max(0, (last!.value.end - first!.value.end) / seconds) : 0,
          // Size shrinks when retention or compaction removes segments: no negative rates.
          bytesPerSec:
            seconds > 0 ? Math.max(0, (last!.value.size - first!.value.size) / seconds) : 0,
        };
      }),
    };
  }
}

function groupView(
  d: GroupDescription,
  history: BoundedHistory<Record<string, number>>,
): GroupView {
  return {
    groupId: d.groupId,
    state: d.state,
    members: d.members.map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      assignment: m.assignment.map((tp) => `${tp.topic}-${tp.partition}`),
    })),
    totalLag: d.offsets.reduce((n, o) => n + o.lag, 0),
    offsets: d.offsets.map((o) => ({
      topic: o.topic,
      partition: o.partition,
      committed: o.offset,
      logEndOffset: o.logEndOffset,
      lag: o.lag,
    })),
    history: history.all().map((s) => ({ at: s.at, lag: s.value })),
  };
}

/** A topic that went away between the listing and its description is skipped. */
async function describeOrNull<T>(describe: () => Promise<T>): Promise<T | null> {
  try {
    return await describe();
  } catch (e) {
    if ((e as { code?: string }).code === "UNKNOWN_TOPIC") return null;
    throw e;
  }
}
