import type { Consumer, LogClient, LogRecord } from "@tributary/log";
import { ConsoleError } from "./errors.js";

/** Most records one browse returns, and most it reads to find them. */
export const MAX_RESULTS = 500;
export const MAX_SCAN = 200_000;
/** Longest one browse reads before it answers with what it found. */
const READ_DEADLINE_MS = 5000;
/** Bytes of a key or value shown; the rest is cut (the length is given). */
const SHOWN_BYTES = 4096;

export interface ShownBytes {
  /** "utf8" when the bytes are printable text, else "base64". */
  encoding: "utf8" | "base64";
  data: string;
  /** The full length in bytes; more than shown when cut. */
  length: number;
}

export interface BrowsedRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: ShownBytes | null;
  value: ShownBytes | null;
  headers: Record<string, ShownBytes>;
}

export interface BrowseResult {
  records: BrowsedRecord[];
  /** Records read to answer. */
  scanned: number;
  /** True when the scan or time bound stopped the search before the end of the log. */
  truncated: boolean;
}

export interface SearchQuery {
  /** Only records whose key, as UTF-8, equals this. */
  key?: string;
  /** Only records at or after this time (ms since the epoch): the scan starts there. */
  from?: number;
  /** Only records at or before this time. */
  to?: number;
  /** Only this partition (default all). */
  partition?: number;
  limit?: number;
  /** Records read per partition at most (default 100,000 capped at MAX_SCAN). */
  scanLimit?: number;
}

/**
 * Reads a topic for the console's browser with explicit offsets (a group-less consumer,
 * nothing committed), every read bounded in records and in time:
 * - `tail`: the last `limit` records of one partition;
 * - `search`: by key (equal, as UTF-8) and/or time range; with a start time it seeks by
 *   timestamp, else it scans the last `scanLimit` records of each partition.
 */
export class TopicBrowser {
  constructor(private readonly log: LogClient) {}

  async tail(topic: string, partition: number, limit = 50): Promise<BrowseResult> {
    const n = clamp(limit, 1, MAX_RESULTS);
    const { start, end } = await this.bounds(topic, partition);
    const from = Math.max(start, end - n);
    const out: BrowsedRecord[] = [];
    const read = await this.read(topic, partition, from, end, (r) => {
      out.push(show(partition, r));
      return true;
    });
    return { records: out, scanned: read.scanned, truncated: read.truncated };
  }

  async search(topic: string, q: SearchQuery): Promise<BrowseResult> {
    const limit = clamp(q.limit ?? 100, 1, MAX_RESULTS);
    const scanLimit = clamp(q.scanLimit ?? 100_000, 1, MAX_SCAN);
    const description = await this.describe(topic);
    const partitions =
      q.partition === undefined
        ? description.partitions.map((p) => p.partition)
        : [this.checkPartition(topic, description.partitions.length, q.partition)];
    const starts =
      q.from === undefined ? null : await this.log.admin.listOffsets(topic, { timestamp: q.from });
    const key = q.key === undefined ? null : Buffer.from(q.key, "utf8");
    const out: BrowsedRecord[] = [];
    let scanned = 0;
    let truncated = false;
    for (const partition of partitions) {
      if (out.length >= limit) break;
      const p = description.partitions.find((d) => d.partition === partition)!;
      const end = p.logEndOffset;
      const byTime = starts?.find((s) => s.partition === partition)?.offset;
      const from = Math.max(p.logStartOffset, byTime ?? end - scanLimit);
      const stop = Math.min(end, from + scanLimit);
      const read = await this.read(topic, partition, from, stop, (r) => {
        if (q.to !== undefined && r.timestamp > q.to) return true;
        if (key !== null && (r.key === null || !r.key.equals(key))) return true;
        out.push(show(partition, r));
        return out.length < limit;
      });
      scanned += read.scanned;
      truncated ||= read.truncated || stop < end;
    }
    return { records: out, scanned, truncated };
  }

  private async describe(topic: string) {
    if (topic === "") throw new ConsoleError("BAD_REQUEST", "name a topic to browse");
    try {
      return await this.log.admin.describeTopic(topic);
    } catch (e) {
      if ((e as { code?: string }).code === "UNKNOWN_TOPIC") {
        throw new ConsoleError("BAD_REQUEST", `topic '${topic}' does not exist`, { cause: e });
      }
      throw e;
    }
  }

  private checkPartition(topic: string, count: number, partition: number): number {
    if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
      throw new ConsoleError(
        "BAD_REQUEST",
        `topic '${topic}' has partitions 0 to ${count - 1}: there is no partition ${partition}`,
      );
    }
    return partition;
  }

  private async bounds(topic: string, partition: number): Promise<{ start: number; end: number }> {
    const d = await this.describe(topic);
    this.checkPartition(topic, d.partitions.length, partition);
    const p = d.partitions.find((x) => x.partition === partition)!;
    return { start: p.logStartOffset, end: p.logEndOffset };
  }

  /** Reads [from, to) of one partition, handing each record to `visit` until it says stop. */
  private async read(
    topic: string,
    partition: number,
    from: number,
    to: number,
    visit: (r: LogRecord) => boolean,
  ): Promise<{ scanned: number; truncated: boolean }> {
    if (from >= to) return { scanned: 0, truncated: false };
    const consumer: Consumer = this.log.consumer({
      clientId: "tributary-console-browser",
      autoOffsetReset: "earliest",
    });
    const tp = { topic, partition };
    const deadline = Date.now() + READ_DEADLINE_MS;
    let scanned = 0;
    try {
      consumer.assign([tp]);
      consumer.seek(tp, from);
      for (;;) {
        if (Date.now() > deadline) return { scanned, truncated: true };
        const fetched = await consumer.poll({ maxWaitMs: 200 });
        for (const f of fetched) {
          for (const r of f.records) {
            // A compacted partition has gaps: the first record may be past `from`.
            if (r.offset < from) continue;
            if (r.offset >= to) return { scanned, truncated: false };
            scanned++;
            if (!visit(r)) return { scanned, truncated: false };
          }
        }
        if ((consumer.position(tp) ?? from) >= to) return { scanned, truncated: false };
      }
    } finally {
      await consumer.close().catch(() => {});
    }
  }
}

function show(partition: number, r: LogRecord): BrowsedRecord {
  const headers: Record<string, ShownBytes> = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k] = shownBytes(v);
  return {
    partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : shownBytes(r.key),
    value: r.value === null ? null : shownBytes(r.value),
    headers,
  };
}

/** Text when the bytes are valid UTF-8 without control characters, else base64. */
export function shownBytes(b: Buffer): ShownBytes {
  const cut = b.subarray(0, SHOWN_BYTES);
  const text = new TextDecoder("utf-8", { fatal: false }).decode(cut);
  // eslint-disable-next-line no-control-regex
  const printable = !text.includes("\uFFFD") && !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  return printable
    ? { encoding: "utf8", data: text, length: b.length }
    : { encoding: "base64", data: cut.toString("base64"), length: b.length };
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.floor(n)));
}
