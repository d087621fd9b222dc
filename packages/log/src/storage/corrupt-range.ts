import fs from "node:fs";
import { batchProblem } from "./batch-problem.js";
import { CorruptRecordError } from "../errors.js";
import { MAX_RELATIVE_OFFSET, OFFSET_INDEX_ENTRY_SIZE } from "./offset-index.js";
import type { BatchVisit, ScanResult } from "./batch-scan.js";
import {
  BATCH_HEADER_SIZE,
  batchLastOffsetDelta,
  batchMagic,
  LEGACY_MAGIC,
  LOG_OVERHEAD,
  MAGIC,
  type RecordBatch,
  readInt64,
} from "../record-batch.js";
import { TIME_INDEX_ENTRY_SIZE } from "./time-index.js";

const OFF_LENGTH = 8;
const RESYNC_CHUNK_BYTES = 1024 * 1024;

/**
 * A stretch of a segment's .log file that holds no valid batch (a flipped byte, a torn
 * write, garbage appended, a file cut short), and the offsets it stood for. Opening a
 * partition records these instead of truncating, so the intact batches after a damaged
 * one stay served; a read of an offset inside `[fromOffset, toOffset)` fails with
 * CorruptRecordError naming the file, `start` and `fromOffset`, and `tributary log repair`
 * removes the range on request.
 */
export interface CorruptRange {
  /** Byte range `[start, end)` of the .log file. */
  start: number;
  end: number;
  /** The offset after the last valid batch before the range (the segment's base if none). */
  fromOffset: number;
  /**
   * The base offset of the first valid batch after the range; for a range that ends the
   * file, the next segment's base offset once known, else null (nothing after it).
   */
  toOffset: number | null;
  /** Why the first bad batch failed its check. */
  problem: string;
}

/**
 * The file position of the first valid batch at or after `from` (structure and CRC check,
 * base offset in `[minOffset, maxOffset]`), or null when none is left before `size`.
 * Used only on damaged segments: it tries every byte position, which is slow but bounded
 * by the file size, and a CRC-32C match on garbage is a 1-in-4-billion event.
 */
export function findNextValidBatch(
  readAt: (position: number, length: number) => Buffer,
  from: number,
  size: number,
  minOffset: number,
  maxOffset: number,
): number | null {
  let chunkStart = from;
  while (chunkStart + BATCH_HEADER_SIZE <= size) {
    const chunk = readAt(chunkStart, Math.min(RESYNC_CHUNK_BYTES, size - chunkStart));
    for (let p = 0; p + BATCH_HEADER_SIZE <= chunk.length; p++) {
      const magic = batchMagic(chunk, p);
      if (magic !== MAGIC && magic !== LEGACY_MAGIC) continue;
      const length = chunk.readInt32BE(p + OFF_LENGTH);
      const position = chunkStart + p;
      if (length < BATCH_HEADER_SIZE - LOG_OVERHEAD || position + LOG_OVERHEAD + length > size) {
        continue;
      }
      const base = readInt64(chunk, p);
      const last = base + batchLastOffsetDelta(chunk, p);
      if (base < minOffset || last > maxOffset || last < base) continue;
      const whole =
        p + LOG_OVERHEAD + length <= chunk.length
          ? chunk.subarray(p, p + LOG_OVERHEAD + length)
          : readAt(position, LOG_OVERHEAD + length);
      if (batchProblem(whole, 0) === null) return position;
    }
    // Step on, keeping a header's worth of overlap so no candidate position is skipped.
    if (chunk.length < RESYNC_CHUNK_BYTES) break;
    chunkStart += chunk.length - BATCH_HEADER_SIZE + 1;
  }
  return null;
}

/** What a reader of an offset inside `range` of segment file `file` gets. */
export function corruptRangeError(file: string, range: CorruptRange): CorruptRecordError {
  const last = range.toOffset === null ? null : range.toOffset - 1;
  const offsets =
    last === null || last === range.fromOffset
      ? `offset ${range.fromOffset}`
      : `offset ${range.fromOffset} to ${last}`;
  return new CorruptRecordError(
    `corrupt record data in segment ${file} at bytes ${range.start}..${range.end} (${offsets}): ${range.problem}; the intact records before and after it are served; run \`tributary log check\` to see the damage and \`tributary log repair\` (broker stopped) to drop it, or restore the partition from a backup`,
    {
      segment: file,
      position: range.start,
      offset: range.fromOffset,
      resumeAt: range.toOffset ?? undefined,
    },
  );
}

/**
 * The highest offset this segment's index files (as on disk) name, or null: a sealed
 * segment whose batches end below it has lost its tail, even when the cut fell on a batch
 * boundary. Only files whose entries ascend are believed. Reads the files as they are on
 * disk, so call it before anything rewrites them.
 */
export function indexedOffsetClaim(segment: {
  baseOffset: number;
  offsetIndex: { path: string };
  timeIndex: { path: string };
}): number | null {
  let claim: number | null = null;
  const files: [string, number, number][] = [
    [segment.offsetIndex.path, OFFSET_INDEX_ENTRY_SIZE, 0],
    [segment.timeIndex.path, TIME_INDEX_ENTRY_SIZE, 8],
  ];
  for (const [file, entrySize, at] of files) {
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch {
      continue;
    }
    const n = Math.floor(data.length / entrySize);
    let previous = -1;
    let ascending = data.length % entrySize === 0;
    for (let i = 0; i < n && ascending; i++) {
      const rel = data.readUInt32BE(i * entrySize + at);
      ascending = rel >= previous;
      previous = rel;
    }
    if (ascending && n > 0) claim = Math.max(claim ?? 0, segment.baseOffset + previous);
  }
  return claim;
}

/**
 * Why a batch (at file `position`) that leaves a gap of offsets before it cannot be
 * believed, or null: its base offset is outside the CRC, so a flipped bit there looks
 * like a gap. The batch after it must start at or after its end; the next segment's
 * base (`limitOffset`) bounds the last one. With nothing after it at all (`gaplessTail`:
 * the last segment file of a topic that is not compacted, after a crash) it is not
 * believed: there, only damage makes a gap (a repair always starts a new segment).
 */
export function gapProblem(
  batch: RecordBatch,
  position: number,
  file: {
    fileSize: number;
    readAt: (position: number, length: number) => Buffer;
    gaplessTail: boolean;
    limitOffset: number;
  },
): string | null {
  const end = batch.nextOffset;
  const after = position + batch.sizeInBytes;
  const following = after + 8 <= file.fileSize ? readInt64(file.readAt(after, 8), 0) : null;
  if (following !== null && following < end) {
    return `batch offset ${batch.baseOffset} runs to ${end - 1}, but the next batch starts at ${following}: its base offset is damaged`;
  }
  if (following === null && file.gaplessTail && !Number.isFinite(file.limitOffset)) {
    return `batch offset ${batch.baseOffset} leaves a gap before it in a topic that is not compacted, and nothing after it confirms its offsets: its base offset is damaged`;
  }
  return null;
}

/** What `findCorruptRanges` reads a segment file with. */
export interface ScannedFile {
  baseOffset: number;
  size: number;
  scan(from: number, visit: (batch: RecordBatch, position: number) => BatchVisit): ScanResult;
  readAt(position: number, length: number): Buffer;
}

/**
 * Re-verifies every batch of a segment file: structure, CRC, offsets ascending from
 * `expectedOffset` and below `limitOffset` (the next segment's base), and a batch that
 * leaves a gap before it must also end before the next one starts (gapProblem). Never
 * truncates: a batch that fails starts a corrupt range, which ends at the next valid batch
 * (found byte by byte) or at the end of the file. `onBatch` gets every valid batch in
 * order, `onResume` is called before the first one after a range.
 */
export function findCorruptRanges(
  file: ScannedFile,
  bounds: { expectedOffset: number; limitOffset: number; gaplessTail: boolean },
  onBatch: (batch: RecordBatch, position: number) => void,
  onResume: () => void,
): CorruptRange[] {
  const ranges: CorruptRange[] = [];
  const { limitOffset, gaplessTail } = bounds;
  let next = Math.max(bounds.expectedOffset, file.baseOffset);
  const maxOffset = Math.min(file.baseOffset + MAX_RELATIVE_OFFSET, limitOffset - 1);
  let resumed = false;
  let from = 0;
  for (;;) {
    const result = file.scan(from, (batch, position) => {
      const problem = batchProblem(batch.buffer, batch.position);
      if (problem !== null) return problem;
      const base = batch.baseOffset;
      if (base < next) return `batch offset ${base} goes back before ${next}`;
      if (batch.lastOffset > maxOffset) {
        return `batch offsets ${base} to ${batch.lastOffset} run past ${maxOffset}, the last this segment may hold`;
      }
      if (base > next && !resumed) {
        const gap = gapProblem(batch, position, {
          fileSize: file.size,
          readAt: file.readAt,
          gaplessTail,
          limitOffset,
        });
        if (gap !== null) return gap;
      }
      resumed = false;
      onBatch(batch, position);
      next = batch.nextOffset;
    });
    if (result.problem === null) break;
    const resume = findNextValidBatch(file.readAt, result.position + 1, file.size, next, maxOffset);
    ranges.push({
      start: result.position,
      end: resume ?? file.size,
      fromOffset: next,
      toOffset: resume === null ? null : readInt64(file.readAt(resume, 8), 0),
      problem: result.problem,
    });
    if (resume === null) break;
    onResume();
    resumed = true;
    from = resume;
  }
  return ranges;
}
