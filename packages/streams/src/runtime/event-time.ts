import type { Watermark } from "./watermark-record.js";

/** One input of a task as event time sees it: an upstream writer on an internal topic, or
 * a source partition. */
interface Input {
  /** Latest watermark (writer) or partition time (source); -1 before any. */
  time: number;
  idle: boolean;
  /** Wall clock of the last record (sources), for idleness. */
  lastRecordAt: number;
}

/** What a task reads, for its event time: each internal topic with the writers expected
 * on it (task ids `<sub>_<p>` of the sub-topologies sinking into it), and its source
 * topics. */
export interface EventTimeInputs {
  internal: readonly { topic: string; writers: readonly string[] }[];
  sources: readonly string[];
}

/** Longest commit metadata vector kept (Kafka's offset.metadata.max.bytes is 4096). */
const MAX_METADATA_CHARS = 3000;

/**
 * The event time of a task that reads internal topics (docs/streams-runtime.md, "Event
 * time across sub-topologies"), as a Flink operator keeps its input channels' watermarks:
 * - per internal topic, the largest watermark of each expected writer, and whether it is
 *   idle; a writer not expected (a new upstream partition) joins once heard of;
 * - per source topic (the task's partition of it), its partition time and idleness;
 * - event time = the minimum over the inputs that are not idle, never going back; -1
 *   while an expected writer has not written; when every input is idle, the largest of
 *   their times (everything they read has been published, nothing is pending).
 * Not thread-safe.
 */
export class EventTime {
  private readonly writers = new Map<string, Map<string, Input>>();
  private readonly sources = new Map<string, Input>();
  time: number;

  constructor(
    inputs: EventTimeInputs,
    start: number,
    now: number,
    /** A source topic's idle timeout (its own, or the app's). */
    private readonly idleTimeoutOf: (topic: string) => number,
  ) {
    this.time = start;
    for (const { topic, writers } of inputs.internal) {
      const m = new Map<string, Input>();
      for (const w of writers) m.set(w, { time: start, idle: false, lastRecordAt: now });
      this.writers.set(topic, m);
    }
    for (const t of inputs.sources)
      this.sources.set(t, { time: start, idle: false, lastRecordAt: now });
  }

  /** A watermark read on `topic`; true when event time moved. */
  onWatermark(topic: string, w: Watermark): boolean {
    let m = this.writers.get(topic);
    if (m === undefined) {
      m = new Map();
      this.writers.set(topic, m);
    }
    const id = `${w.subtopology}_${w.partition}`;
    const input = m.get(id);
    if (input === undefined) m.set(id, { time: w.time, idle: w.idle, lastRecordAt: 0 });
    else {
      if (w.time > input.time) input.time = w.time;
      input.idle = w.idle;
    }
    return this.recompute();
  }

  /** A data record of a source topic at time `t`; true when event time moved. */
  onSourceRecord(topic: string, t: number, now: number): boolean {
    const s = this.sources.get(topic);
    if (s === undefined) return false;
    s.lastRecordAt = now;
    const wasIdle = s.idle;
    s.idle = false;
    if (t <= s.time && !wasIdle) return false;
    if (t > s.time) s.time = t;
    return this.recompute();
  }

  /**
   * Marks idle the source partitions that got no record for idleTimeoutMs and are caught
   * up (`caughtUp(topic)`: fetch position at the log end); true when event time moved.
   */
  checkIdle(now: number, caughtUp: (topic: string) => boolean): boolean {
    let changed = false;
    for (const [topic, s] of this.sources) {
      if (!s.idle && now - s.lastRecordAt >= this.idleTimeoutOf(topic) && caughtUp(topic)) {
        s.idle = true;
        changed = true;
      }
    }
    return changed && this.recompute();
  }

  /** Every input idle: the task publishes its watermark as idle. */
  allIdle(): boolean {
    for (const s of this.sources.values()) if (!s.idle) return false;
    for (const m of this.writers.values()) {
      for (const w of m.values()) if (!w.idle) return false;
    }
    return true;
  }

  private recompute(): boolean {
    let min = Number.POSITIVE_INFINITY;
    // every input idle: all of them have published everything they read, so nothing is
    // pending and time may go to the furthest (else the last windows never close)
    let idleMax = -1;
    const take = (i: Input) => {
      if (!i.idle) {
        if (i.time < min) min = i.time;
      } else if (i.time > idleMax) idleMax = i.time;
    };
    for (const s of this.sources.values()) take(s);
    for (const m of this.writers.values()) for (const w of m.values()) take(w);
    if (min === Number.POSITIVE_INFINITY) min = idleMax;
    if (min <= this.time) return false;
    this.time = min;
    return true;
  }

  /*
   * The writers' watermarks, committed with the task's offsets (after "st=<time>"):
   *   Vector => ";w=" writer ("," writer)*
   *   writer => topicIndex:decimal "/" subtopology:decimal "_" partition:decimal ":" watermark:decimal ["i"]
   * topicIndex: the internal topic's place among the task's internal inputs. Empty when
   * longer than MAX_METADATA_CHARS (the restored task then starts every writer at its
   * committed time).
   */
  encodeWriters(): string {
    const parts: string[] = [];
    let i = 0;
    for (const m of this.writers.values()) {
      for (const [id, w] of m) parts.push(`${i}/${id}:${w.time}${w.idle ? "i" : ""}`);
      i++;
    }
    const out = `;w=${parts.join(",")}`;
    return out.length > MAX_METADATA_CHARS || parts.length === 0 ? "" : out;
  }

  /** Restores what encodeWriters wrote (a committed vector); unknown parts are skipped. */
  restoreWriters(vector: string): void {
    const topics = [...this.writers.values()];
    for (const part of vector.split(",")) {
      const m = /^(\d+)\/(\d+_\d+):(-?\d+)(i?)$/.exec(part);
      if (m === null) continue;
      const writers = topics[Number(m[1])];
      if (writers === undefined) continue;
      const time = Number(m[3]);
      const w = writers.get(m[2]!);
      if (w === undefined) writers.set(m[2]!, { time, idle: m[4] === "i", lastRecordAt: 0 });
      else {
        w.time = Math.max(w.time, time);
        w.idle = m[4] === "i";
      }
    }
    this.recompute();
  }
}
