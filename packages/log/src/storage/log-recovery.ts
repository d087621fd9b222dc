import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { indexedOffsetClaim } from "./corrupt-range.js";
import { syncDirectory, syncDirectoryAsync } from "./durable-file.js";
import { CorruptRecordError } from "../errors.js";
import { LogSegment } from "./log-segment.js";
import {
  INDEX_SUFFIX,
  LOG_SUFFIX,
  parseSegmentFileName,
  segmentFileName,
  TIME_INDEX_SUFFIX,
} from "./segment-files.js";
import { type PartitionCheckpoint, readCheckpoint } from "./partition-checkpoint.js";
import { BATCH_HEADER_SIZE, batchRecordCount } from "../record-batch.js";
import type { TopicConfig } from "../topic-config.js";

/**
 * Opening a partition directory after a clean or unclean shutdown. Responsible for:
 * - the clean-shutdown marker (the checkpoint's format is in partition-checkpoint.ts);
 * - deciding which segments are trusted (indexes loaded) and which are re-verified batch
 *   by batch, and what to do with the damage a check finds;
 * - finishing or discarding what a crash interrupted: temporary files and half-done
 *   compaction swaps.
 *
 * The rules (Kafka's LogLoader, made stricter about intact data):
 * - With the clean-shutdown marker and a sound checkpoint every segment's indexes are
 *   trusted (after checking the batches past the last index entry). Without it, segments
 *   wholly before the one that holds the recovery point were sealed, flushed and indexed
 *   before the checkpoint was written, so they are trusted; that segment and all later
 *   ones are re-verified and re-indexed. A damaged checkpoint trusts nothing.
 * - A segment that fails a check is re-verified; the damage becomes a corrupt range (see
 *   corrupt-range.ts), and the valid batches after it are found and kept.
 * - Nothing intact is ever deleted: only a tail of the last segment that holds no valid
 *   batch (a torn write) is cut off, and only empty stray segment files are removed. Later
 *   segments are never deleted because an earlier one is damaged.
 * - Every truncation, removal and damage left in place is logged.
 */

export {
  CHECKPOINT_FILE,
  type PartitionCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from "./partition-checkpoint.js";
export const CLEAN_SHUTDOWN_FILE = ".clean-shutdown";
export const CLEANED_SUFFIX = ".cleaned";
export const SWAP_SUFFIX = ".swap";

export function hasCleanShutdownMarker(dir: string): boolean {
  return fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
}

/**
 * Written last by a clean close, after every segment and the checkpoint are durable; the
 * directory fsync makes the checkpoint's rename and the marker durable together.
 */
export async function writeCleanShutdownMarker(dir: string): Promise<void> {
  fs.writeFileSync(path.join(dir, CLEAN_SHUTDOWN_FILE), "");
  await syncDirectoryAsync(dir);
}

/** Removed first by open, so that a crash from now on is seen as unclean. */
export function removeCleanShutdownMarker(dir: string): void {
  fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE), { force: true });
  syncDirectory(dir);
}

export interface LoadedLog {
  segments: LogSegment[];
  logStartOffset: number;
  /** Bytes cut from torn tails of the last segment (never an intact batch). */
  truncatedBytes: number;
  /** Whether any segment was re-verified (then its data is flushed before use). */
  recovered: boolean;
}

/**
 * A partition's segments ready for appends: loaded and recovered (`loadSegments`), an
 * empty first segment created if there is none, every segment but the last sealed, and
 * the log start offset clamped to the log end (retention went past what survived a
 * crash: start again where the log ends).
 */
export function openSegments(
  dir: string,
  config: TopicConfig,
  logger: Logger,
): { segments: LogSegment[]; logStartOffset: number; recovered: boolean } {
  const interval = config.indexIntervalBytes;
  const loaded = loadSegments(dir, interval, logger, !config.cleanupPolicy.includes("compact"));
  const segments = loaded.segments;
  if (segments.length === 0) segments.push(LogSegment.create(dir, loaded.logStartOffset, interval));
  const last = segments[segments.length - 1]!;
  const logStartOffset = Math.min(loaded.logStartOffset, last.nextOffset);
  // Only the last segment takes appends; re-verified ones get their rebuilt index files.
  for (const segment of segments) if (segment !== last) segment.seal();
  // While running, segment.ms counts from the clock time of a segment's first append.
  // After a reopen only the records' own times are known, and replayed history carries
  // old ones: counting from those would roll the segment on the first append after
  // every restart. The file's creation time is the clock time we lost.
  if (last.rollTimestamp !== null) {
    const created = fs.statSync(last.logPath).birthtimeMs;
    if (created > 0) last.rollTimestamp = Math.max(last.rollTimestamp, created);
  }
  return { segments, logStartOffset, recovered: loaded.recovered };
}

/**
 * Loads the segments of `dir` in offset order, recovering what needs it (see above), and
 * reports on `logger` every file it changes and every damage it leaves in place. With
 * `gapless` (the topic is not compacted) a gap before the last batch of the last segment
 * is damage. Creates a new
 * last segment when the old one is damaged (appends never follow damage); otherwise it
 * does not create one when there is none: the caller does.
 */
export function loadSegments(
  dir: string,
  indexIntervalBytes: number,
  logger: Logger,
  gapless: boolean,
): LoadedLog {
  completeInterruptedSwaps(dir);
  const names = fs.readdirSync(dir);
  const bases: number[] = [];
  const logNames = new Set<string>();
  for (const name of names) {
    const base = parseSegmentFileName(name, LOG_SUFFIX);
    if (base !== null) {
      bases.push(base);
      logNames.add(name.slice(0, -LOG_SUFFIX.length));
    }
  }
  for (const name of names) {
    // Index files whose log is gone were left by a deletion that a crash cut short.
    for (const suffix of [INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      if (name.endsWith(suffix) && !logNames.has(name.slice(0, -suffix.length))) {
        fs.rmSync(path.join(dir, name), { force: true });
      }
    }
    if (name.endsWith(".tmp") || name.endsWith(CLEANED_SUFFIX)) {
      fs.rmSync(path.join(dir, name), { force: true });
    }
  }
  bases.sort((a, b) => a - b);

  const clean = hasCleanShutdownMarker(dir);
  const read = readCheckpoint(dir);
  if (read.problem !== null) {
    logger.warn(
      { event: "checkpoint-damaged", dir, problem: read.problem },
      `${read.problem}: ignoring it and re-verifying every segment of ${dir}`,
    );
  }
  const checkpoint = read.checkpoint;
  const recoveryPoint = checkpoint?.recoveryPoint ?? 0;
  let recoverFrom = Number.NEGATIVE_INFINITY;
  if (clean && checkpoint !== null) recoverFrom = Number.POSITIVE_INFINITY;
  else for (const base of bases) if (base <= recoveryPoint) recoverFrom = base;

  const limits = offsetLimits(
    dir,
    bases,
    clean && checkpoint !== null ? checkpoint.recoveryPoint : Number.POSITIVE_INFINITY,
  );

  const segments: LogSegment[] = [];
  let recovered = false;
  for (const [i, base] of bases.entries()) {
    const segment = LogSegment.open(dir, base, indexIntervalBytes);
    const previous = segments[segments.length - 1];
    const overlaps = previous !== undefined && base < previous.nextOffset;
    if (segment.isEmpty && (overlaps || i < bases.length - 1)) {
      // Holds nothing, so nothing is lost; left in place it would hide the offsets of
      // the segments around it (or take appends at offsets already used).
      logger.warn(
        { event: "stray-segment-removed", file: segment.logPath, bytes: 0, records: 0 },
        `removed the empty segment file ${segment.logPath}: it holds no record and ${overlaps ? `its base offset ${base} lies inside ${previous!.logPath}` : "a later segment follows it"}`,
      );
      segment.delete();
      continue;
    }
    if (overlaps) {
      for (const s of [...segments, segment]) s.release();
      throw new CorruptRecordError(
        `segment ${segment.logPath} starts at offset ${base}, inside ${previous!.logPath} (which holds offsets up to ${previous!.nextOffset - 1}): two segments claim the same offsets; move one of them out of ${dir} after checking which holds the data you want (tributary log check --data <dir>), then restart`,
        { segment: segment.logPath, offset: base },
      );
    }
    const trusted = base < recoverFrom && segment.loadIndexes(limits[i]);
    if (!trusted) {
      recovered = true;
      // Index files that loaded cover no more than the log; the others may say what it lost.
      const claim = indexedOffsetClaim(segment);
      segment.rebuild(base, limits[i], gapless && i === bases.length - 1);
      if (i < bases.length - 1) markCutShort(segment, claim, limits[i]!);
    }
    segments.push(segment);
  }
  const truncatedBytes = settleDamage(dir, segments, checkpoint, indexIntervalBytes, logger);
  const first = segments[0];
  const logStartOffset = Math.max(checkpoint?.logStartOffset ?? 0, first?.baseOffset ?? 0);
  return { segments, logStartOffset, truncatedBytes, recovered };
}

/**
 * A sealed segment cut short on a batch boundary passes every check; its index files, as
 * on disk before the open (`claim`, see indexedOffsetClaim in corrupt-range.ts), remember offsets
 * its batches no longer reach. Records those as a corrupt range ending the segment.
 */
export function markCutShort(segment: LogSegment, claim: number | null, limit: number): void {
  if (segment.corruptRanges.at(-1)?.end === segment.size) return;
  if (claim === null || claim < segment.nextOffset || claim >= limit) return;
  segment.corruptRanges.push({
    start: segment.size,
    end: segment.size,
    fromOffset: segment.nextOffset,
    toOffset: null,
    problem: `the segment's index files name offset ${claim}, but its batches end at ${segment.nextOffset - 1}: the file was cut short`,
  });
}

/**
 * For each segment (by base offset, ascending) the offset its batches must stay below: the
 * next non-empty segment's base, and for the last one `lastLimit` (after a clean shutdown
 * the log end offset the checkpoint recorded).
 */
export function offsetLimits(dir: string, bases: readonly number[], lastLimit: number): number[] {
  const limits: number[] = [];
  let limit = lastLimit;
  for (let i = bases.length - 1; i >= 0; i--) {
    limits[i] = limit;
    if (fs.statSync(path.join(dir, segmentFileName(bases[i]!, LOG_SUFFIX))).size > 0) {
      limit = bases[i]!;
    }
  }
  return limits;
}

/**
 * What is done with the corrupt ranges the segments found (see corrupt-range.ts):
 * - a range that ends the last segment holds no valid batch (a torn write, garbage): it
 *   is cut off, and logged with the bytes and what the torn batch claimed to hold;
 * - every other range stays where it is, its offsets refused to readers, and is logged;
 *   a range that ends a sealed segment covers the offsets up to the next segment;
 * - when the last segment ends below the checkpoint's recovery point, records that were
 *   flushed are gone: their offsets become a corrupt range, never offsets to reuse;
 * - a last segment left with damage is sealed and a new one takes the appends.
 * Returns the bytes cut off.
 */
function settleDamage(
  dir: string,
  segments: LogSegment[],
  checkpoint: PartitionCheckpoint | null,
  indexIntervalBytes: number,
  logger: Logger,
): number {
  let truncatedBytes = 0;
  const last = segments[segments.length - 1];
  for (const [i, segment] of segments.entries()) {
    const tail = segment.corruptRanges.at(-1);
    if (tail === undefined || tail.end !== segment.size) continue;
    const next = segments[i + 1];
    if (next !== undefined) tail.toOffset = Math.max(next.baseOffset, tail.fromOffset);
    else {
      const bytes = tail.end - tail.start;
      const claim = tornBatchClaim(segment, tail.start, tail.fromOffset);
      logger.warn(
        {
          event: "log-truncated",
          file: segment.logPath,
          position: tail.start,
          bytes,
          intactRecordsDropped: 0,
          tornRecords: claim,
          offset: tail.fromOffset,
          problem: tail.problem,
        },
        `truncated ${segment.logPath} at byte ${tail.start}: dropped ${bytes} bytes holding no intact batch (${tail.problem}${claim > 0 ? `; a torn batch of ${claim} records from offset ${tail.fromOffset}` : ""})`,
      );
      segment.corruptRanges.pop();
      segment.truncateTo(tail.start);
      truncatedBytes += bytes;
    }
  }
  if (last !== undefined && checkpoint !== null && last.nextOffset < checkpoint.recoveryPoint) {
    const problem = `the segment ends at offset ${last.nextOffset}, below the recovery point ${checkpoint.recoveryPoint}: records flushed before are missing (the file was cut short or replaced)`;
    last.corruptRanges.push({
      start: last.size,
      end: last.size,
      fromOffset: last.nextOffset,
      toOffset: checkpoint.recoveryPoint,
      problem,
    });
  }
  for (const segment of segments) {
    for (const range of segment.corruptRanges) {
      if (range.toOffset === range.fromOffset) {
        logger.warn(
          {
            event: "corrupt-bytes",
            file: segment.logPath,
            position: range.start,
            bytes: range.end - range.start,
            problem: range.problem,
          },
          `${segment.logPath} holds ${range.end - range.start} damaged bytes at ${range.start} that stand for no offset (${range.problem}); left in place: run tributary log repair to remove them`,
        );
      } else {
        logger.error(
          {
            event: "corrupt-range",
            file: segment.logPath,
            position: range.start,
            bytes: range.end - range.start,
            fromOffset: range.fromOffset,
            toOffset: range.toOffset,
            problem: range.problem,
          },
          segment.corruptRangeError(range).message,
        );
      }
    }
  }
  if (last !== undefined && last.corruptRanges.length > 0) {
    const reserved = last.corruptRanges.at(-1)!.toOffset ?? last.nextOffset;
    segments.push(LogSegment.create(dir, Math.max(reserved, last.nextOffset), indexIntervalBytes));
  }
  return truncatedBytes;
}

/** How many records the torn batch at `position` claimed, when its header is plausible. */
function tornBatchClaim(segment: LogSegment, position: number, expectedOffset: number): number {
  if (segment.size - position < BATCH_HEADER_SIZE) return 0;
  const header = segment.readHeader(position);
  const count = batchRecordCount(header.buffer, header.position);
  return header.baseOffset === expectedOffset && count > 0 && count < 1_000_000 ? count : 0;
}

/**
 * A compaction swap is crash-safe because of its order: the cleaned segment is written as
 * `<base>.log.cleaned`, renamed to `<base>.log.swap` (the commit point), the segments it
 * replaces are deleted, and it is renamed to `<base>.log`. A `.cleaned` file is
 * discarded (the originals are intact); a `.swap` file is completed here.
 */
function completeInterruptedSwaps(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith(SWAP_SUFFIX)) continue;
    const logName = name.slice(0, -SWAP_SUFFIX.length);
    const base = parseSegmentFileName(logName, LOG_SUFFIX);
    if (base === null) continue;
    const swapPath = path.join(dir, name);
    const replaced = readSwapManifest(swapPath);
    for (const old of replaced) {
      for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
        const stem = String(old).padStart(20, "0");
        fs.rmSync(path.join(dir, stem + suffix), { force: true });
      }
    }
    fs.rmSync(`${swapPath}.manifest`, { force: true });
    fs.renameSync(swapPath, path.join(dir, logName));
  }
  for (const name of fs.readdirSync(dir)) {
    // A manifest without its swap: the crash came before the commit point.
    if (
      name.endsWith(`${SWAP_SUFFIX}.manifest`) &&
      !fs.existsSync(path.join(dir, name.slice(0, -9)))
    ) {
      fs.rmSync(path.join(dir, name), { force: true });
    }
  }
  syncDirectory(dir);
}

/*
 * Swap manifest "<base>.log.swap.manifest" (UTF-8 text, written and fsynced before the
 * rename to .swap) =>
 *   (decimal LF)*            base offsets of the segments the swap replaces
 */
export function writeSwapManifest(swapPath: string, replacedBases: readonly number[]): void {
  const fd = fs.openSync(`${swapPath}.manifest`, "w");
  try {
    fs.writeSync(fd, replacedBases.map((b) => `${b}\n`).join(""));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function readSwapManifest(swapPath: string): number[] {
  try {
    return fs
      .readFileSync(`${swapPath}.manifest`, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map(Number);
  } catch {
    return [];
  }
}
