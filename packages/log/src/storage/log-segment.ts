import fs from "node:fs";
import path from "node:path";
import type { BatchVisit, ScanResult } from "./batch-scan.js";
import { batchProblem } from "./batch-problem.js";
import { type CorruptRange, findCorruptRanges, corruptRangeError } from "./corrupt-range.js";
import { CorruptRecordError } from "../errors.js";
import { OffsetIndex } from "./offset-index.js";
import { logMetrics } from "./log-metrics.js";
import {
  BATCH_HEADER_SIZE,
  batchLastOffsetDelta,
  batchMaxTimestamp,
  LOG_OVERHEAD,
  type RecordBatch,
  readInt64,
} from "../record-batch.js";
import { INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, segmentFileName } from "./segment-files.js";
import { TimeIndex } from "./time-index.js";
import { fsyncPath, fsyncPathAsync } from "./durable-file.js";
import { SegmentReader } from "./segment-reader.js";
import { SegmentFile } from "./segment-file.js";

/** batchLength's position inside a stored batch (see the grammar in record-batch-layout.ts). */
const OFF_LENGTH = 8;

/** A segment's append state at one moment, for undoing a failed append (see rollbackTo). */
export interface SegmentMark {
  readonly size: number;
  readonly nextOffset: number;
  readonly maxTimestamp: number;
  readonly rollTimestamp: number | null;
  readonly lastBatchOffset: number;
  readonly bytesSinceLastIndexEntry: number;
  readonly unflushedBytes: number;
  readonly offsetEntries: number;
  readonly timeEntries: number;
}

/**
 * One segment of a partition log: the files `<base>.log` (record batches exactly as
 * appended, base offsets stamped), `<base>.index` (OffsetIndex) and `<base>.timeindex`
 * (TimeIndex), all named after the segment's base offset, the offset of its first record.
 *
 * The .log file is written with positioned synchronous writes (the page cache makes them
 * cheap), read with positioned synchronous reads, and never held in memory. The indexes
 * are held in memory and written when the segment is sealed (rolled) or closed.
 *
 * Not safe for concurrent use: the owning PartitionLog calls it from one event loop, and
 * only `flushAsync` runs in the background (an fdatasync), which `close` and `delete`
 * wait for before they close the file descriptor (see SegmentFile).
 */
export class LogSegment {
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;
  /** Bytes in the .log file. */
  size = 0;
  /** The offset after the last batch: the segment's end offset (its base when empty). */
  nextOffset: number;
  /** Largest record timestamp, -Infinity when empty. */
  maxTimestamp = Number.NEGATIVE_INFINITY;
  /** When the segment took its first batch, for segment.ms; null when empty. */
  rollTimestamp: number | null = null;
  /** No more appends: rolled, its indexes written (fsynced by the next flushAsync). */
  sealed = false;
  /**
   * Damaged stretches found by the last `rebuild`, in file order. Never truncated on
   * their own (see log-recovery.ts): reads of their offsets fail with CorruptRecordError.
   */
  corruptRanges: CorruptRange[] = [];
  /** Every batch was checked by `rebuild` (not just the tail after the last index entry). */
  private verified = false;
  /** The offset this segment's batches must stay below: the next segment's base. */
  private limitOffset = Number.POSITIVE_INFINITY;
  /** The last segment file of a topic that is not compacted (see gapProblem). */
  private gaplessTail = false;
  private lastBatchOffset: number;
  private bytesSinceLastIndexEntry = 0;
  private indexesDurable = false;
  private unflushedBytes = 0;
  private deleted = false;
  private readonly file: SegmentFile;
  private readonly reader = new SegmentReader(this);

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    flags: "w+" | "r+",
    public indexIntervalBytes: number,
  ) {
    this.file = new SegmentFile(this.pathFor(LOG_SUFFIX), flags);
    this.nextOffset = baseOffset;
    this.lastBatchOffset = baseOffset;
    this.offsetIndex = new OffsetIndex(this.pathFor(INDEX_SUFFIX), baseOffset);
    this.timeIndex = new TimeIndex(this.pathFor(TIME_INDEX_SUFFIX), baseOffset);
  }

  /** Creates an empty segment (replacing leftover files of the same base offset). */
  static create(dir: string, baseOffset: number, indexIntervalBytes: number): LogSegment {
    const segment = new LogSegment(dir, baseOffset, "w+", indexIntervalBytes);
    fs.rmSync(segment.offsetIndex.path, { force: true });
    fs.rmSync(segment.timeIndex.path, { force: true });
    return segment;
  }

  /**
   * Opens an existing segment without reading it: follow with `loadIndexes` (trusted
   * segments) or `rebuild` (everything else).
   */
  static open(dir: string, baseOffset: number, indexIntervalBytes: number): LogSegment {
    const segment = new LogSegment(dir, baseOffset, "r+", indexIntervalBytes);
    segment.size = segment.file.statSize();
    return segment;
  }

  get logPath(): string {
    return this.pathFor(LOG_SUFFIX);
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  pathFor(suffix: string): string {
    return path.join(this.dir, segmentFileName(this.baseOffset, suffix));
  }

  /**
   * Appends whole batches, `buf[start, end)`, already validated and stamped by the caller.
   * Writes them as they are with one positioned write and updates the indexes from their
   * headers: no per-record work.
   */
  append(buf: Buffer, start: number, end: number, now: number): void {
    const filePosition = this.size;
    this.file.write(buf, start, end - start, filePosition);
    if (this.rollTimestamp === null) this.rollTimestamp = now;
    let p = start;
    while (p < end) {
      const batchSize = LOG_OVERHEAD + buf.readInt32BE(p + OFF_LENGTH);
      const base = readInt64(buf, p);
      this.trackBatch(
        base,
        base + batchLastOffsetDelta(buf, p) + 1,
        batchMaxTimestamp(buf, p),
        filePosition + (p - start),
        batchSize,
      );
      p += batchSize;
    }
    this.size += end - start;
    this.unflushedBytes += end - start;
    // Index files loaded on open no longer hold every entry: seal or close rewrites them.
    this.indexesDurable = false;
  }

  /** The append state now, to undo the appends made after it with `rollbackTo`. */
  mark(): SegmentMark {
    return {
      size: this.size,
      nextOffset: this.nextOffset,
      maxTimestamp: this.maxTimestamp,
      rollTimestamp: this.rollTimestamp,
      lastBatchOffset: this.lastBatchOffset,
      bytesSinceLastIndexEntry: this.bytesSinceLastIndexEntry,
      unflushedBytes: this.unflushedBytes,
      offsetEntries: this.offsetIndex.entryCount,
      timeEntries: this.timeIndex.entryCount,
    };
  }

  /**
   * Undoes every append (and a seal) since `mark`: cuts the .log file back to the mark's
   * size, which also drops the bytes of a write that failed half-way (shrinking a file
   * needs no free space), and takes the segment's state and index entries back. The
   * index files are rewritten at the next seal or close.
   */
  rollbackTo(mark: SegmentMark): void {
    this.file.truncate(mark.size);
    this.size = mark.size;
    this.nextOffset = mark.nextOffset;
    this.maxTimestamp = mark.maxTimestamp;
    this.rollTimestamp = mark.rollTimestamp;
    this.lastBatchOffset = mark.lastBatchOffset;
    this.bytesSinceLastIndexEntry = mark.bytesSinceLastIndexEntry;
    this.unflushedBytes = mark.unflushedBytes;
    this.offsetIndex.truncateToEntries(mark.offsetEntries);
    this.timeIndex.truncateToEntries(mark.timeEntries);
    this.sealed = false;
    this.indexesDurable = false;
  }

  /** Index bookkeeping for one batch that now sits at `position`. */
  private trackBatch(
    base: number,
    next: number,
    maxTs: number,
    position: number,
    batchSize: number,
  ): void {
    let indexed = false;
    // After a corrupt range the first valid batch is always indexed, so reads past the
    // range start there instead of scanning into the damage.
    if (this.bytesSinceLastIndexEntry >= this.indexIntervalBytes) {
      this.offsetIndex.append(base, position);
      this.bytesSinceLastIndexEntry = 0;
      indexed = true;
    }
    this.bytesSinceLastIndexEntry += batchSize;
    if (maxTs > this.maxTimestamp) this.maxTimestamp = maxTs;
    if (indexed) this.timeIndex.maybeAppend(this.maxTimestamp, base);
    this.lastBatchOffset = base;
    this.nextOffset = next;
  }

  /**
   * Reads whole batches starting with the one that holds `offset`, up to `maxBytes` (at
   * least one batch), leaving out batches at or past `limitOffset` (the high watermark).
   * Returns null when this segment has no such batch. With `verify`, each batch's CRC is
   * checked: a corrupt first batch throws CorruptRecordError naming this file, its position
   * and offset; a corrupt later batch ends the result before it (the next read throws).
   * An offset inside a known corrupt range throws at once. Damage met in a segment whose
   * batches were not all verified on open (a trusted one) makes it `rebuild` its indexes
   * around the damage, then the read is tried once more.
   */
  read(offset: number, maxBytes: number, limitOffset: number, verify: boolean): Buffer | null {
    try {
      return this.reader.read(offset, maxBytes, limitOffset, verify);
    } catch (err) {
      if (!(err instanceof CorruptRecordError) || this.verified) throw err;
      this.rebuildInPlace();
      return this.reader.read(offset, maxBytes, limitOffset, verify);
    }
  }

  /** The known corrupt range whose offsets include `offset`, if any. */
  corruptRangeHolding(offset: number): CorruptRange | undefined {
    return this.corruptRanges.find(
      (r) => offset >= r.fromOffset && r.toOffset !== null && offset < r.toOffset,
    );
  }

  corruptRangeError(range: CorruptRange): CorruptRecordError {
    return corruptRangeError(this.logPath, range);
  }

  corrupt(problem: string, position: number, offset: number): CorruptRecordError {
    return new CorruptRecordError(
      `corrupt record batch in segment ${this.logPath} at byte ${position} (offset ${offset}): ${problem}; the stored bytes are damaged, restore the partition from a replica or backup, or delete the segment and accept the loss`,
      { segment: this.logPath, position, offset },
    );
  }

  /**
   * The first offset in this segment below `limitOffset` whose record timestamp is >=
   * `timestamp`, or null. Starts from the time index and checks each batch it decodes.
   */
  offsetForTimestamp(timestamp: number, limitOffset: number): number | null {
    return this.reader.offsetForTimestamp(timestamp, limitOffset);
  }

  /** Visits the batches from file position `from` in order (see scanBatches). */
  scan(from: number, visit: (batch: RecordBatch, position: number) => BatchVisit): ScanResult {
    return this.file.scan(this.size, from, visit);
  }

  /**
   * Loads the indexes of a segment that was cleanly closed or sealed before the recovery
   * checkpoint, and re-reads the batches after the last index entry (the end offset and
   * timestamp live there). Returns false when anything fails its check: then `recover`.
   */
  loadIndexes(limitOffset = Number.POSITIVE_INFINITY): boolean {
    this.limitOffset = limitOffset;
    this.verified = false;
    this.corruptRanges = [];
    if (!this.offsetIndex.load(this.size)) return false;
    const from = this.offsetIndex.lastPosition;
    const startOffset = this.offsetIndex.lastOffset;
    let maxTs = Number.NEGATIVE_INFINITY;
    let first = true;
    this.bytesSinceLastIndexEntry = 0;
    const result = this.scan(from, (batch) => {
      const problem = batchProblem(batch.buffer, batch.position);
      if (problem !== null) return problem;
      if (first && this.offsetIndex.entryCount > 0 && batch.baseOffset !== startOffset) {
        return "the offset index does not point at a batch start";
      }
      if (first && this.rollTimestamp === null && from === 0)
        this.rollTimestamp = batch.maxTimestamp;
      first = false;
      if (batch.maxTimestamp > maxTs) maxTs = batch.maxTimestamp;
      this.bytesSinceLastIndexEntry += batch.sizeInBytes;
      this.lastBatchOffset = batch.baseOffset;
      this.nextOffset = batch.nextOffset;
    });
    if (result.problem !== null || result.position !== this.size) return false;
    if (this.nextOffset > limitOffset) return false;
    if (!this.timeIndex.load(this.nextOffset)) return false;
    this.maxTimestamp = Math.max(this.timeIndex.lastTimestamp, maxTs);
    if (this.rollTimestamp === null && this.size > 0)
      this.rollTimestamp = this.firstBatchTimestamp();
    this.indexesDurable = true;
    return true;
  }

  /**
   * Re-verifies every batch (structure, CRC, offsets ascending from `expectedOffset` and
   * below `limitOffset`, the next segment's base offset; a batch that leaves a gap before
   * it must also end before the next batch starts, since its base offset is not under
   * the CRC: see gapProblem in corrupt-range.ts) and rebuilds both indexes. Never truncates:
   * a batch that fails starts a corrupt range,
   * which ends at the next valid batch (found byte by byte) or at the end of the file;
   * the ranges are left in `corruptRanges` for the caller to judge (see log-recovery.ts).
   */
  rebuild(
    expectedOffset = this.baseOffset,
    limitOffset = Number.POSITIVE_INFINITY,
    gaplessTail = false,
  ): CorruptRange[] {
    this.limitOffset = limitOffset;
    this.gaplessTail = gaplessTail;
    this.offsetIndex.clear();
    this.timeIndex.clear();
    this.bytesSinceLastIndexEntry = 0;
    this.maxTimestamp = Number.NEGATIVE_INFINITY;
    this.nextOffset = this.baseOffset;
    this.lastBatchOffset = this.baseOffset;
    this.rollTimestamp = null;
    this.corruptRanges = findCorruptRanges(
      {
        baseOffset: this.baseOffset,
        size: this.size,
        scan: (from, visit) => this.scan(from, visit),
        readAt: (p, n) => this.readAt(p, n),
      },
      { expectedOffset, limitOffset, gaplessTail },
      (batch, position) => {
        if (this.rollTimestamp === null) this.rollTimestamp = batch.maxTimestamp;
        this.trackBatch(
          batch.baseOffset,
          batch.nextOffset,
          batch.maxTimestamp,
          position,
          batch.sizeInBytes,
        );
      },
      // The first valid batch after damage gets an index entry of its own.
      () => {
        this.bytesSinceLastIndexEntry = this.indexIntervalBytes;
      },
    );
    this.indexesDurable = false;
    this.verified = true;
    return this.corruptRanges;
  }

  /**
   * `rebuild` for a segment in use whose damage a read found: the end offset it had stays
   * (a damaged tail's offsets become a corrupt range, never offsets to hand out again).
   */
  private rebuildInPlace(): void {
    const end = this.nextOffset;
    this.rebuild(this.baseOffset, this.limitOffset, this.gaplessTail);
    const tail = this.corruptRanges.at(-1);
    if (tail !== undefined && tail.toOffset === null && end > tail.fromOffset) tail.toOffset = end;
    this.nextOffset = Math.max(this.nextOffset, end);
    if (this.sealed) this.writeIndexes();
  }

  /** Cuts the .log file at `position`, a batch boundary, and drops index entries past it. */
  truncateTo(position: number): void {
    this.file.truncate(position);
    this.corruptRanges = this.corruptRanges.filter((r) => r.start < position);
    this.size = position;
    this.offsetIndex.truncateToPosition(position);
    if (position === 0) {
      this.timeIndex.clear();
      this.rollTimestamp = null;
      this.maxTimestamp = Number.NEGATIVE_INFINITY;
      this.nextOffset = this.baseOffset;
    }
  }

  private firstBatchTimestamp(): number {
    const h = this.readAt(0, Math.min(BATCH_HEADER_SIZE, this.size));
    return h.length === BATCH_HEADER_SIZE ? batchMaxTimestamp(h, 0) : Date.now();
  }

  /**
   * Ends appends: adds the final time index entry and writes both index files. The next
   * `flushAsync` makes them durable.
   */
  seal(): void {
    if (this.sealed) return;
    // Indexes loaded from their files (a trusted segment) are already there.
    if (!this.indexesDurable) {
      const timeEntries = this.timeIndex.entryCount;
      try {
        this.writeIndexes();
      } catch (err) {
        // Still the active segment (a full disk, no descriptor): the next seal writes again.
        this.timeIndex.truncateToEntries(timeEntries);
        throw err;
      }
    }
    this.sealed = true;
  }

  private writeIndexes(): void {
    if (this.size > 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.lastBatchOffset);
    this.offsetIndex.writeFile();
    this.timeIndex.writeFile();
    this.indexesDurable = false;
  }

  get needsFlush(): boolean {
    return this.unflushedBytes > 0 || (this.sealed && !this.indexesDurable);
  }

  /**
   * fdatasyncs what was appended so far (and, once sealed, the index files) without
   * blocking the event loop. Appends may continue meanwhile; they are covered by the next
   * call.
   */
  async flushAsync(): Promise<void> {
    if (!this.needsFlush) return;
    await this.file.whileSyncing(async (sync) => {
      const covered = this.unflushedBytes;
      logMetrics.fsyncs++;
      await sync();
      this.unflushedBytes -= covered;
      if (this.sealed && !this.indexesDurable && !this.deleted) {
        for (const p of [this.offsetIndex.path, this.timeIndex.path]) {
          await fsyncPathAsync(p);
          if (this.deleted) break;
        }
        this.indexesDurable = true;
      }
    });
  }

  /**
   * Flushes the log and writes the indexes (a cleanly closed segment's indexes are
   * trusted on the next open), then closes the file. The caller has awaited any flushAsync.
   * The fsyncs run off the event loop, so a broker closing thousands of partitions
   * overlaps them (TopicRegistry.close) instead of paying each one in turn.
   */
  async close(): Promise<void> {
    if (!this.file.isOpen) return;
    // Nothing appended since its indexes were written and made durable (sealed and
    // flushed, or loaded from a clean close and idle since): its files are final already.
    if (!(this.indexesDurable && this.unflushedBytes === 0)) {
      await this.file.whileSyncing(async (sync) => {
        await sync();
        this.unflushedBytes = 0;
        this.writeIndexes();
        await Promise.all([this.offsetIndex.path, this.timeIndex.path].map(fsyncPathAsync));
        this.indexesDurable = true;
      });
    }
    this.file.close();
  }

  /** fdatasyncs the log (and a sealed segment's index files) before returning. */
  flushSync(): void {
    this.file.syncNow();
    this.unflushedBytes = 0;
    if (this.sealed && !this.indexesDurable) {
      for (const p of [this.offsetIndex.path, this.timeIndex.path]) fsyncPath(p);
      this.indexesDurable = true;
    }
  }

  /** Removes the files now; the descriptor closes once any running flush has finished. */
  delete(): void {
    this.deleted = true;
    for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      fs.rmSync(this.pathFor(suffix), { force: true });
    }
    this.release();
  }

  /** Closes the descriptor without flushing, once any running flush has finished. */
  release(): void {
    this.file.release();
  }

  /** Reads `length` bytes at `position` into a new buffer. */
  readAt(position: number, length: number): Buffer {
    return this.file.readAt(position, length);
  }

  /** The header of the batch at `position` (a view of a shared buffer, valid until the next call). */
  readHeader(position: number): RecordBatch {
    return this.file.readHeader(position);
  }
}
