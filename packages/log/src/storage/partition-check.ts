import fs from "node:fs";
import path from "node:path";
import { indexedOffsetClaim } from "./corrupt-range.js";
import { DirLock } from "./dir-lock.js";
import { DataDirLockedError, InvalidArgumentError } from "../errors.js";
import {
  CLEAN_SHUTDOWN_FILE,
  hasCleanShutdownMarker,
  markCutShort,
  offsetLimits,
} from "./log-recovery.js";
import { syncDirectory } from "./durable-file.js";
import { LogSegment } from "./log-segment.js";
import {
  INDEX_SUFFIX,
  LOG_SUFFIX,
  parseSegmentFileName,
  segmentFileName,
  TIME_INDEX_SUFFIX,
} from "./segment-files.js";
import { CHECKPOINT_FILE, readCheckpoint } from "./partition-checkpoint.js";

/**
 * `tributary log check|repair`: what is damaged in a data directory's partitions, and
 * the repair that drops exactly the damage. Responsible for:
 * - verifying every batch of every segment (unlike opening, which trusts what a clean
 *   shutdown or the recovery point vouches for), with the rules of log-recovery.ts;
 * - describing each damage with file, byte range, offsets and what repair does to it;
 * - repairing: only the damaged bytes go; intact batches keep their offsets.
 * Repair runs only under the data directory lock, so never beside a broker.
 */

/** One thing wrong in a partition directory, and what repair does about it. */
export interface PartitionDamage {
  file: string;
  /** Byte range `[position, position + bytes)` of `file` the damage covers. */
  position: number;
  bytes: number;
  /** Offsets `[fromOffset, toOffset)` that cannot be read; equal when none are lost. */
  fromOffset: number;
  toOffset: number;
  problem: string;
  /**
   * - "cut-out": the bytes are removed from the segment, the batches around them kept;
   * - "remove-file": a stray empty segment file is deleted;
   * - "reset-checkpoint": the checkpoint is deleted (the next open re-verifies all);
   * - "manual": repair cannot decide (overlapping segments): the problem says what to do.
   */
  repair: "cut-out" | "remove-file" | "reset-checkpoint" | "manual";
}

export interface PartitionReport {
  topic: string;
  partition: number;
  dir: string;
  segments: { file: string; baseOffset: number; endOffset: number; bytes: number }[];
  logStartOffset: number;
  logEndOffset: number;
  cleanShutdown: boolean;
  damage: PartitionDamage[];
}

export interface CheckOptions {
  /** Only this topic (and `partition`, if given). */
  topic?: string;
  partition?: number;
}

/**
 * Checks every partition of `dataDir` (topics from their `<topic>.topic.json`). Read-only;
 * a broker may hold the directory meanwhile (its active segments may then show a write
 * in progress as a torn tail).
 */
export function checkDataDir(dataDir: string, options: CheckOptions = {}): PartitionReport[] {
  const dir = existingDataDir(dataDir);
  const reports: PartitionReport[] = [];
  for (const file of fs.readdirSync(dir).sort()) {
    if (!file.endsWith(".topic.json")) continue;
    const topic = file.slice(0, -".topic.json".length);
    if (options.topic !== undefined && topic !== options.topic) continue;
    const meta = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as {
      partitions: number;
      config?: { cleanupPolicy?: string; indexIntervalBytes?: number };
    };
    const gapless = !(meta.config?.cleanupPolicy ?? "delete").includes("compact");
    for (let p = 0; p < meta.partitions; p++) {
      if (options.partition !== undefined && p !== options.partition) continue;
      const partitionDir = path.join(dir, `${topic}-${p}`);
      if (!fs.existsSync(partitionDir)) continue;
      reports.push(checkPartition(partitionDir, topic, p, gapless));
    }
  }
  if (options.topic !== undefined && reports.length === 0) {
    throw new InvalidArgumentError(
      `no partition of topic '${options.topic}'${options.partition === undefined ? "" : ` numbered ${options.partition}`} in ${dir}`,
    );
  }
  return reports;
}

function existingDataDir(dataDir: string): string {
  const dir = path.resolve(dataDir);
  if (!fs.existsSync(dir)) {
    throw new InvalidArgumentError(
      `data directory ${dir} does not exist: pass the broker's --data`,
    );
  }
  return dir;
}

/** Verifies every batch of one partition directory; changes nothing. */
export function checkPartition(
  dir: string,
  topic: string,
  partition: number,
  gapless: boolean,
): PartitionReport {
  const damage: PartitionDamage[] = [];
  const read = readCheckpoint(dir);
  if (read.problem !== null) {
    damage.push({
      file: path.join(dir, CHECKPOINT_FILE),
      position: 0,
      bytes: fs.statSync(path.join(dir, CHECKPOINT_FILE)).size,
      fromOffset: 0,
      toOffset: 0,
      problem: read.problem,
      repair: "reset-checkpoint",
    });
  }
  const clean = hasCleanShutdownMarker(dir);
  const bases = fs
    .readdirSync(dir)
    .map((n) => parseSegmentFileName(n, LOG_SUFFIX))
    .filter((b): b is number => b !== null)
    .sort((a, b) => a - b);
  const recoveryPoint = read.checkpoint?.recoveryPoint;
  const limits = offsetLimits(
    dir,
    bases,
    clean && recoveryPoint !== undefined ? recoveryPoint : Number.POSITIVE_INFINITY,
  );
  const segments: PartitionReport["segments"] = [];
  let previousEnd: number | undefined;
  for (const [i, base] of bases.entries()) {
    const segment = LogSegment.open(dir, base, 4096);
    try {
      const file = segment.logPath;
      const overlaps = previousEnd !== undefined && base < previousEnd;
      if (segment.isEmpty && (overlaps || i < bases.length - 1)) {
        damage.push({
          file,
          position: 0,
          bytes: 0,
          fromOffset: base,
          toOffset: base,
          problem: "a stray empty segment file",
          repair: "remove-file",
        });
        continue;
      }
      if (overlaps) {
        damage.push({
          file,
          position: 0,
          bytes: segment.size,
          fromOffset: base,
          toOffset: previousEnd!,
          problem: `it starts at offset ${base}, inside the segment before it (which ends at ${previousEnd! - 1}): move one of the two out of ${dir}`,
          repair: "manual",
        });
        continue;
      }
      const claim = indexedOffsetClaim(segment);
      segment.rebuild(base, limits[i], gapless && i === bases.length - 1);
      if (i < bases.length - 1) markCutShort(segment, claim, limits[i]!);
      const limit = limits[i]!;
      const lost = i === bases.length - 1 && segment.corruptRanges.length === 0;
      if (lost && recoveryPoint !== undefined && segment.nextOffset < recoveryPoint) {
        segment.corruptRanges.push({
          start: segment.size,
          end: segment.size,
          fromOffset: segment.nextOffset,
          toOffset: recoveryPoint,
          problem: `the segment ends at offset ${segment.nextOffset}, below the recovery point ${recoveryPoint}: records flushed before are missing`,
        });
      }
      for (const range of segment.corruptRanges) {
        const toOffset = range.toOffset ?? (Number.isFinite(limit) ? limit : segment.nextOffset);
        damage.push({
          file,
          position: range.start,
          bytes: range.end - range.start,
          fromOffset: range.fromOffset,
          toOffset: Math.max(toOffset, range.fromOffset),
          problem: range.problem,
          repair: "cut-out",
        });
      }
      segments.push({ file, baseOffset: base, endOffset: segment.nextOffset, bytes: segment.size });
      previousEnd = segment.nextOffset;
    } finally {
      segment.release();
    }
  }
  return {
    topic,
    partition,
    dir,
    segments,
    logStartOffset: Math.max(read.checkpoint?.logStartOffset ?? 0, segments[0]?.baseOffset ?? 0),
    logEndOffset: Math.max(segments.at(-1)?.endOffset ?? 0, recoveryPoint ?? 0),
    cleanShutdown: clean,
    damage,
  };
}

/**
 * The data directory's lock, for a repair: a running broker holds it, and then this
 * throws DataDirLockedError saying to stop the broker first.
 */
export function lockForRepair(dataDir: string): DirLock {
  try {
    return DirLock.acquire(existingDataDir(dataDir));
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      throw new DataDirLockedError(
        err.dataDir,
        `${err.holder}; stop the broker (Ctrl-C or SIGTERM) before repairing, since a running broker rewrites these files`,
      );
    }
    throw err;
  }
}

/**
 * Repairs what `checkDataDir` reported, holding the lock from `lockForRepair`. A segment's damaged bytes are cut out by writing the
 * intact rest to `<base>.log.tmp`, fsyncing it and renaming it over the segment (a crash
 * before the rename leaves the original, and the .tmp is discarded on open); its index
 * files are deleted, so the next open rebuilds them. Returns the damages repaired.
 */
export function repairDataDir(
  lock: DirLock,
  reports: readonly PartitionReport[],
): PartitionDamage[] {
  if (!lock.isHeld()) {
    throw new InvalidArgumentError(
      "repairDataDir needs the data directory lock from lockForRepair",
    );
  }
  const done: PartitionDamage[] = [];
  for (const report of reports) {
    const byFile = new Map<string, PartitionDamage[]>();
    for (const d of report.damage) byFile.set(d.file, [...(byFile.get(d.file) ?? []), d]);
    for (const [file, damages] of byFile) {
      const kind = damages[0]!.repair;
      if (kind === "manual") continue;
      if (kind === "remove-file" || kind === "reset-checkpoint") fs.rmSync(file, { force: true });
      else cutOut(file, damages, file !== report.segments.at(-1)?.file);
      done.push(...damages);
    }
    reserveLostEnd(report);
    // The repaired files are whole again: the next open verifies them afresh.
    fs.rmSync(path.join(report.dir, CLEAN_SHUTDOWN_FILE), { force: true });
    syncDirectory(report.dir);
  }
  return done;
}

/**
 * Rewrites `file` without the byte ranges of `damages`; with `removeIfEmpty` (not the
 * last segment) a file left with nothing is removed instead.
 */
function cutOut(file: string, damages: readonly PartitionDamage[], removeIfEmpty: boolean): void {
  const data = fs.readFileSync(file);
  const keep: Buffer[] = [];
  let at = 0;
  for (const d of [...damages].sort((a, b) => a.position - b.position)) {
    keep.push(data.subarray(at, d.position));
    at = Math.max(at, d.position + d.bytes);
  }
  keep.push(data.subarray(at));
  const stem = file.slice(0, -LOG_SUFFIX.length);
  for (const suffix of [INDEX_SUFFIX, TIME_INDEX_SUFFIX]) fs.rmSync(stem + suffix, { force: true });
  if (removeIfEmpty && keep.every((part) => part.length === 0)) {
    fs.rmSync(file);
    return;
  }
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    for (const part of keep) fs.writeSync(fd, part);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/**
 * Offsets handed out before must never be handed out again, and appends never follow a
 * repaired stretch: when the last segment was repaired, an empty segment at the old log
 * end offset takes the next records.
 */
function reserveLostEnd(report: PartitionReport): void {
  const last = report.segments.at(-1);
  if (last === undefined) return;
  const ownDamage = report.damage.filter((d) => d.file === last.file && d.repair === "cut-out");
  if (ownDamage.length === 0) return;
  const end = Math.max(last.endOffset, ...ownDamage.map((d) => d.toOffset));
  if (end > last.baseOffset) {
    fs.closeSync(fs.openSync(path.join(report.dir, segmentFileName(end, LOG_SUFFIX)), "a"));
  }
}
