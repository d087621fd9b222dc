import type { LogSegment } from "./log-segment.js";

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
