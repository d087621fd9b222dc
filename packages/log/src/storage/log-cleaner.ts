import fs from "node:fs";
import { CLEANED_SUFFIX, SWAP_SUFFIX, writeSwapManifest } from "./log-recovery.js";
import { syncDirectory } from "./durable-file.js";
import { batchProblem } from "./batch-problem.js";
import { LogSegment } from "./log-segment.js";
import { MAX_RELATIVE_OFFSET } from "./offset-index.js";
import { INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX } from "./segment-files.js";
import type { LogRecord } from "../record.js";
import { encodeBatchAt, MAGIC, type RecordBatch } from "../record-batch.js";
import type { TopicConfig } from "../topic-config.js";

const WRITE_BUFFER_BYTES = 1024 * 1024;

export interface CleanResult {
  /** The segments that now stand where the input segments stood, in order. */
  segments: LogSegment[];
  recordsRemoved: number;
  /** Of those, tombstones older than delete.retention.ms; the rest were superseded. */
  tombstonesRemoved: number;
  /** When the earliest tombstone kept will be old enough to drop (Infinity if none). */
  nextTombstoneExpiry: number;
}

/**
 * Compaction (cleanup.policy=compact) of the cleanable, non-active segments of one
 * partition. Responsible for:
 * - the offset map: the latest offset of every key in the segments being cleaned;
 * - rewriting those segments keeping, per key, only the record at its latest offset, and
 *   dropping a latest record that is a tombstone once its timestamp is more than
 *   delete.retention.ms old (measured by the record's timestamp). Records without a key
 *   are kept: there is nothing newer they could be superseded by;
 * - keeping offsets: a batch whose records all stay is copied byte for byte; otherwise its
 *   kept records are re-encoded with encodeBatchAt at their original offsets and the
 *   original base offset and lastOffsetDelta, so the next offset never moves; a batch
 *   with nothing kept is dropped (a gap, the only kind a log has);
 * - transactions: only what is below the last stable offset is cleaned (the caller's
 *   limit); committed transactional records compact like any other (a rewritten batch
 *   loses its transactional bit: its transaction is over); markers and the batches of
 *   aborted transactions are copied whole and take no part in the offset map, so an
 *   aborted record never supersedes a committed one and the transaction-state rebuild
 *   still finds every marker (Kafka drops aborted data and spent markers; Tributary
 *   keeps both, trading space for simplicity);
 * - merging consecutive segments into one when their input fits in segment.bytes;
 * - swapping the result in crash-safely (see log-recovery.ts): write `<base>.log.cleaned`,
 *   fsync, write the manifest of replaced segments, rename to `<base>.log.swap` (the
 *   commit point), delete the replaced segments, rename to `<base>.log`.
 *
 * The map lives in memory, one entry per distinct key of the cleaned segments; it is not
 * bounded like Kafka's dedupe buffer, which is fine for changelog-sized key spaces.
 * Runs synchronously: the caller picks when (a maintenance timer).
 */
export class LogCleaner {
  constructor(
    readonly dir: string,
    private readonly config: TopicConfig,
    /** Whether the batch of `producerId` at `offset` belongs to an aborted transaction. */
    private readonly aborted: (producerId: number, offset: number) => boolean = () => false,
  ) {}

  /** Markers and aborted transactions' batches: copied whole, outside the key map. */
  private keptWhole(batch: RecordBatch): boolean {
    return (
      batch.isControl || (batch.isTransactional && this.aborted(batch.producerId, batch.baseOffset))
    );
  }

  clean(input: readonly LogSegment[], now: number): CleanResult {
    const latest = this.buildOffsetMap(input);
    const horizon = now - this.config.deleteRetentionMs;
    let recordsRemoved = 0;
    let tombstonesRemoved = 0;
    let nextTombstoneExpiry = Number.POSITIVE_INFINITY;
    const keep = (r: LogRecord): boolean => {
      if (r.key === null) return true;
      if (latest.get(r.key.toString("latin1")) !== r.offset) return false;
      if (r.value !== null) return true;
      if (r.timestamp < horizon) {
        tombstonesRemoved++;
        return false;
      }
      nextTombstoneExpiry = Math.min(
        nextTombstoneExpiry,
        r.timestamp + this.config.deleteRetentionMs,
      );
      return true;
    };
    const output: LogSegment[] = [];
    for (const group of this.groups(input)) {
      const { segment, removed } = this.rewrite(group, keep);
      output.push(segment);
      recordsRemoved += removed;
    }
    return { segments: output, recordsRemoved, tombstonesRemoved, nextTombstoneExpiry };
  }

  private buildOffsetMap(input: readonly LogSegment[]): Map<string, number> {
    const latest = new Map<string, number>();
    for (const segment of input) {
      this.forEachBatch(segment, (batch) => {
        // See rewrite: markers and aborted records neither supersede nor are superseded.
        if (this.keptWhole(batch)) return;
        batch.forEach((r) => {
          if (r.key !== null) latest.set(r.key.toString("latin1"), r.offset);
        });
      });
    }
    return latest;
  }

  /** Consecutive segments whose input fits in one segment and one index offset range. */
  private groups(input: readonly LogSegment[]): LogSegment[][] {
    const groups: LogSegment[][] = [];
    let current: LogSegment[] = [];
    let size = 0;
    for (const segment of input) {
      const first = current[0];
      if (
        first !== undefined &&
        (size + segment.size > this.config.segmentBytes ||
          segment.nextOffset - 1 - first.baseOffset > MAX_RELATIVE_OFFSET)
      ) {
        groups.push(current);
        current = [];
        size = 0;
      }
      current.push(segment);
      size += segment.size;
    }
    if (current.length > 0) groups.push(current);
    return groups;
  }

  private rewrite(
    group: LogSegment[],
    keep: (r: LogRecord) => boolean,
  ): { segment: LogSegment; removed: number } {
    const base = group[0]!.baseOffset;
    const interval = this.config.indexIntervalBytes;
    const logPath = group[0]!.logPath;
    const cleanedPath = logPath + CLEANED_SUFFIX;
    const swapPath = logPath + SWAP_SUFFIX;
    const fd = fs.openSync(cleanedPath, "w");
    let removed = 0;
    try {
      const out = new BufferedWriter(fd);
      for (const segment of group) {
        this.forEachBatch(segment, (batch) => {
          // Markers and aborted transactions' batches are kept whole: compaction must not
          // let an aborted record supersede a committed one, nor drop the markers that end
          // transactions (a rebuild of the partition's transaction state replays them).
          // Kafka removes aborted data and, later, markers; Tributary keeps both.
          // Committed transactional records compact like any other.
          if (this.keptWhole(batch)) {
            out.write(batch.bytes());
            return;
          }
          const records = batch.records();
          const kept = records.filter(keep);
          removed += records.length - kept.length;
          // A whole v2 batch is copied as it is; a magic-1 one is rewritten as v2 too.
          if (kept.length === records.length && batch.magic === MAGIC) out.write(batch.bytes());
          else if (kept.length > 0) {
            out.write(encodeBatchAt(kept, batch.baseOffset, batch.lastOffsetDelta, batch));
          }
        });
      }
      out.flush();
      fs.fsyncSync(fd);
    } catch (err) {
      // A full disk mid-rewrite: the input segments are untouched; free the partial copy.
      fs.closeSync(fd);
      fs.rmSync(cleanedPath, { force: true });
      throw err;
    }
    fs.closeSync(fd);
    writeSwapManifest(
      swapPath,
      group.map((s) => s.baseOffset),
    );
    fs.renameSync(cleanedPath, swapPath);
    syncDirectory(this.dir);
    // Committed: from here a crash is finished by recovery.
    for (const segment of group) segment.delete();
    fs.renameSync(swapPath, logPath);
    fs.rmSync(`${swapPath}.manifest`, { force: true });
    for (const suffix of [INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      fs.rmSync(logPath.slice(0, -LOG_SUFFIX.length) + suffix, { force: true });
    }
    syncDirectory(this.dir);
    const segment = LogSegment.open(this.dir, base, interval);
    segment.rebuild();
    segment.seal();
    segment.flushSync();
    return { segment, removed };
  }

  /** Visits every batch of a segment, CRC-checked: compaction must not copy corruption on. */
  private forEachBatch(segment: LogSegment, visit: (batch: RecordBatch) => void): void {
    const result = segment.scan(0, (batch, position) => {
      const problem = batchProblem(batch.buffer, batch.position);
      if (problem !== null) throw segment.corrupt(problem, position, batch.baseOffset);
      visit(batch);
      return undefined;
    });
    if (result.problem !== null) throw segment.corrupt(result.problem, result.position, -1);
  }
}

/** Collects small writes into large positioned-append writes. */
class BufferedWriter {
  private readonly buf = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  private used = 0;
  constructor(private readonly fd: number) {}

  write(bytes: Buffer): void {
    if (this.used + bytes.length > this.buf.length) this.flush();
    if (bytes.length > this.buf.length) {
      writeAll(this.fd, bytes);
      return;
    }
    bytes.copy(this.buf, this.used);
    this.used += bytes.length;
  }

  flush(): void {
    if (this.used > 0) writeAll(this.fd, this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}
