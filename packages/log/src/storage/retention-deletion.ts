import type { Logger } from "pino";
import type { LogSegment } from "./log-segment.js";
import type { TopicConfig } from "../topic-config.js";

/**
 * What one retention run deleted from a partition for one reason: logged at info level
 * (`event: "retention-deleted"`) and kept as the partition's last deletion, so that
 * describe can say why its history starts where it does.
 */
export interface RetentionDeletion {
  /** When, by the log's clock (ms since the epoch). */
  at: number;
  /** The limit that was exceeded. */
  limit: "retention.ms" | "retention.bytes";
  segments: number;
  /** The offsets deleted: fromOffset up to, not including, toOffset. */
  fromOffset: number;
  toOffset: number;
  /** toOffset - fromOffset: the records deleted (for a compacted topic, the offsets). */
  records: number;
  bytes: number;
  /** Largest record timestamp among the deleted records (-Infinity if none had one). */
  newestTimestamp: number;
  /** In words, e.g. "retention.ms=604800000 exceeded: newest record 2024-03-01T00:00:00.000Z is 640 days old". */
  why: string;
}

/**
 * Which of a partition's segments (oldest first) retention deletes now, each with the
 * limit it exceeded: the leading run of segments wholly below `upTo` (the last stable
 * offset: see PartitionRetention) whose newest record is older than retention.ms, or
 * without which the partition still holds retention.bytes (Kafka's rule: never below the
 * limit). An empty active segment stays.
 */
export function retentionLimitsExceeded(
  segments: readonly LogSegment[],
  upTo: number,
  config: TopicConfig,
  now: number,
): RetentionDeletion["limit"][] {
  const { retentionMs, retentionBytes } = config;
  const limits: RetentionDeletion["limit"][] = [];
  let size = segments.reduce((n, s) => n + s.size, 0);
  for (const [i, segment] of segments.entries()) {
    if (i === segments.length - 1 && segment.isEmpty) break;
    if (segment.nextOffset > upTo) break;
    const expired = retentionMs >= 0 && now - segment.maxTimestamp > retentionMs;
    const oversize = retentionBytes >= 0 && size - segment.size >= retentionBytes;
    if (!expired && !oversize) break;
    size -= segment.size;
    limits.push(expired ? "retention.ms" : "retention.bytes");
  }
  return limits;
}

/**
 * Logs each deletion at info level (`event: "retention-deleted"`) for partition `name`;
 * returns the last (null if none), to keep as the partition's last deletion.
 */
export function logRetentionDeletions(
  deletions: readonly RetentionDeletion[],
  name: string,
  logger: Logger,
): RetentionDeletion | null {
  for (const d of deletions) {
    logger.info(
      { event: "retention-deleted", ...d },
      `deleted ${d.segments} segment(s) of ${name}, offsets ${d.fromOffset}..${d.toOffset - 1} (${d.records} records, ${d.bytes} bytes): ${d.why}`,
    );
  }
  return deletions.at(-1) ?? null;
}

/**
 * Describes the segments one retention run deleted (oldest first, each with the limit it
 * exceeded), one RetentionDeletion per run of segments deleted for the same limit.
 * `sizeBefore` is the partition's size before the run.
 */
export function describeRetentionDeletions(
  deleted: readonly { segment: LogSegment; limit: RetentionDeletion["limit"] }[],
  config: TopicConfig,
  now: number,
  sizeBefore: number,
): RetentionDeletion[] {
  const out: RetentionDeletion[] = [];
  for (const { segment, limit } of deleted) {
    let d = out[out.length - 1];
    if (d === undefined || d.limit !== limit) {
      d = {
        at: now,
        limit,
        segments: 0,
        fromOffset: segment.baseOffset,
        toOffset: segment.baseOffset,
        records: 0,
        bytes: 0,
        newestTimestamp: Number.NEGATIVE_INFINITY,
        why: "",
      };
      out.push(d);
    }
    d.segments++;
    d.toOffset = segment.nextOffset;
    d.records = d.toOffset - d.fromOffset;
    d.bytes += segment.size;
    d.newestTimestamp = Math.max(d.newestTimestamp, segment.maxTimestamp);
  }
  for (const d of out) {
    d.why =
      d.limit === "retention.ms"
        ? `retention.ms=${config.retentionMs} exceeded: newest record ${formatTimestamp(d.newestTimestamp)} is ${formatAge(now - d.newestTimestamp)} old`
        : `retention.bytes=${config.retentionBytes} exceeded: the partition held ${sizeBefore} bytes`;
  }
  return out;
}

function formatTimestamp(ts: number): string {
  return Number.isFinite(ts) ? new Date(ts).toISOString() : "(none)";
}

const UNITS: [string, number][] = [
  ["days", 24 * 60 * 60 * 1000],
  ["hours", 60 * 60 * 1000],
  ["minutes", 60 * 1000],
  ["seconds", 1000],
];

/** An age in the largest whole unit: "640 days", "3 hours", "12 seconds". */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return "unknown";
  for (const [name, size] of UNITS) {
    if (ms >= size) return `${Math.floor(ms / size)} ${name}`;
  }
  return `${Math.max(0, Math.floor(ms))} ms`;
}
