import { OffsetOutOfRangeError } from "../errors.js";
import type { LogSegment } from "./log-segment.js";
import type { ReadOptions } from "./partition-log-options.js";

const EMPTY: Buffer = Buffer.alloc(0);

/*
 * Finding things in a partition's segments (oldest first, ascending base offsets): the
 * segment holding an offset, the stored batches from an offset, the first offset at a
 * timestamp. PartitionLog's read paths, kept apart from its write paths.
 */
/** Index of the last segment whose base offset is <= offset (0 if none). */
export function segmentIndexFor(segments: readonly LogSegment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid]!.baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * Whole stored batches from the one holding `offset`, up to `maxBytes` (at least one
 * batch when there is one), from one segment, leaving out offsets at or past `limit`.
 * Null when there are none.
 */
export function readSegments(
  segments: readonly LogSegment[],
  offset: number,
  maxBytes: number,
  limit: number,
  verify: boolean,
): Buffer | null {
  for (let i = segmentIndexFor(segments, offset); i < segments.length; i++) {
    const records = segments[i]!.read(offset, maxBytes, limit, verify);
    if (records !== null && records.length > 0) return records;
  }
  return null;
}

/** Earliest offset below `limit` whose record timestamp >= `timestamp` (time indexes); null if none. */
export function offsetForTimestampIn(
  segments: readonly LogSegment[],
  timestamp: number,
  limit: number,
): number | null {
  for (const segment of segments) {
    if (segment.maxTimestamp < timestamp) continue;
    const offset = segment.offsetForTimestamp(timestamp, limit);
    if (offset !== null) return offset;
  }
  return null;
}

/** A partition's bounds at the moment of a read (see readPartition). */
export interface ReadBounds {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  /** Only asked for a read_committed read. */
  lastStableOffset(): number;
}

/**
 * PartitionLog.read: whole stored batches from the one holding `offset`, up to `maxBytes`,
 * from one segment, below the high watermark (the last stable offset under
 * read_committed); empty at the high watermark, OffsetOutOfRangeError outside the log.
 */
export function readPartition(
  segments: readonly LogSegment[],
  offset: number,
  maxBytes: number,
  bounds: ReadBounds,
  options: ReadOptions,
): { records: Buffer; highWatermark: number; logStartOffset: number } {
  const hw = bounds.highWatermark;
  const start = bounds.logStartOffset;
  const result = { records: EMPTY, highWatermark: hw, logStartOffset: start };
  if (offset === hw) return result;
  if (!Number.isSafeInteger(offset) || offset < start || offset > hw) {
    throw new OffsetOutOfRangeError(bounds.topic, bounds.partition, offset, start, hw);
  }
  const verify = options.verify ?? true;
  const limit = options.isolation === "read_committed" ? bounds.lastStableOffset() : hw;
  if (offset >= limit) return result;
  result.records = readSegments(segments, offset, maxBytes, limit, verify) ?? EMPTY;
  return result;
}
