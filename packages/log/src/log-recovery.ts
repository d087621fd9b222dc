import fs from "node:fs";
import path from "node:path";
import { CorruptRecordError } from "./errors.js";
import {
  INDEX_SUFFIX,
  LOG_SUFFIX,
  LogSegment,
  parseSegmentFileName,
  TIME_INDEX_SUFFIX,
} from "./log-segment.js";

/**
 * Opening a partition directory after a clean or unclean shutdown. Responsible for:
 * - the partition checkpoint (recovery point and log start offset) and the clean-shutdown
 *   marker, their formats and their atomic replacement;
 * - deciding which segments are trusted (indexes loaded) and which are re-verified batch
 *   by batch, truncating a torn or corrupt tail and deleting the segments after it;
 * - finishing or discarding what a crash interrupted: temporary files and half-done
 *   compaction swaps.
 *
 * The rule: with the clean-shutdown marker present every segment's indexes are trusted
 * (after a sanity check). Without it, segments wholly before the segment that holds the
 * recovery point were sealed, flushed and indexed before the checkpoint was written, so
 * they are trusted; that segment and all later ones are re-verified and re-indexed.
 */

export const CHECKPOINT_FILE = "partition.checkpoint";
export const CLEAN_SHUTDOWN_FILE = ".clean-shutdown";
export const CLEANED_SUFFIX = ".cleaned";
export const SWAP_SUFFIX = ".swap";
const CHECKPOINT_MAGIC = "tributary-partition-checkpoint 1";

export interface PartitionCheckpoint {
  /** Every batch below this offset is flushed, verified and indexed on disk. */
  recoveryPoint: number;
  /** The first offset the log holds; moved up by retention. */
  logStartOffset: number;
}

/*
 * PartitionCheckpoint file "partition.checkpoint" (UTF-8 text, replaced atomically:
 * written to "partition.checkpoint.tmp", fsynced, renamed over the old one) =>
 *   "tributary-partition-checkpoint 1" LF
 *   "recovery-point " decimal LF
 *   "log-start-offset " decimal LF
 */
export function writeCheckpoint(dir: string, checkpoint: PartitionCheckpoint): void {
  const text = `${CHECKPOINT_MAGIC}\nrecovery-point ${checkpoint.recoveryPoint}\nlog-start-offset ${checkpoint.logStartOffset}\n`;
  const target = path.join(dir, CHECKPOINT_FILE);
  const tmp = `${target}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, target);
}

/** The checkpoint, or null when there is none yet. A malformed one is an error. */
export function readCheckpoint(dir: string): PartitionCheckpoint | null {
  const file = path.join(dir, CHECKPOINT_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  const m =
    /^tributary-partition-checkpoint 1\nrecovery-point (\d+)\nlog-start-offset (\d+)\n$/.exec(text);
  if (m === null) {
    throw new CorruptRecordError(
      `partition checkpoint ${file} is malformed; delete it to re-verify the whole partition on open`,
      { segment: file },
    );
  }
  return { recoveryPoint: Number(m[1]), logStartOffset: Number(m[2]) };
}

export function hasCleanShutdownMarker(dir: string): boolean {
  return fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
}

/** Written last by a clean close, after every segment and the checkpoint are durable. */
export function writeCleanShutdownMarker(dir: string): void {
  fs.writeFileSync(path.join(dir, CLEAN_SHUTDOWN_FILE), "");
  syncDirectory(dir);
}

/** Removed first by open, so that a crash from now on is seen as unclean. */
export function removeCleanShutdownMarker(dir: string): void {
  fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE), { force: true });
  syncDirectory(dir);
}

/** Makes created, renamed and deleted directory entries durable. */
export function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export interface LoadedLog {
  segments: LogSegment[];
  logStartOffset: number;
  /** Bytes cut from torn or corrupt tails, and in segments deleted after them. */
  truncatedBytes: number;
  /** Whether any segment was re-verified (then its data is flushed before use). */
  recovered: boolean;
}

/**
 * Loads the segments of `dir` in offset order, recovering what needs it (see above). Does
 * not create a segment when there is none: the caller does.
 */
export function loadSegments(dir: string, indexIntervalBytes: number): LoadedLog {
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
  const checkpoint = readCheckpoint(dir) ?? { recoveryPoint: 0, logStartOffset: 0 };
  let recoverFrom = Number.NEGATIVE_INFINITY;
  if (clean) recoverFrom = Number.POSITIVE_INFINITY;
  else {
    for (const base of bases) if (base <= checkpoint.recoveryPoint) recoverFrom = base;
  }

  const segments: LogSegment[] = [];
  let truncatedBytes = 0;
  let recovered = false;
  let cut = false;
  for (const base of bases) {
    const segment = LogSegment.open(dir, base, indexIntervalBytes);
    const previous = segments[segments.length - 1];
    if (cut || (previous !== undefined && base < previous.nextOffset)) {
      // After a truncation point (or overlapping it): these offsets are gone.
      truncatedBytes += segment.size;
      segment.delete();
      cut = true;
      continue;
    }
    const trusted = base < recoverFrom && segment.loadIndexes();
    if (!trusted) {
      recovered = true;
      const cutBytes = segment.recover(previous?.nextOffset ?? base);
      if (cutBytes > 0) {
        truncatedBytes += cutBytes;
        cut = true;
      }
    }
    if (cut && segment.isEmpty && previous !== undefined) {
      truncatedBytes += segment.size;
      segment.delete();
      continue;
    }
    segments.push(segment);
  }
  const first = segments[0];
  const logStartOffset = Math.max(checkpoint.logStartOffset, first?.baseOffset ?? 0);
  return { segments, logStartOffset, truncatedBytes, recovered };
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
