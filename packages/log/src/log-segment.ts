import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { CorruptRecordError } from "./errors.js";
import { OffsetIndex } from "./offset-index.js";
import { logMetrics } from "./log-metrics.js";
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, MAGIC, RecordBatch, readInt64 } from "./record-batch.js";
import { TimeIndex } from "./time-index.js";

const fdatasync = promisify(fs.fdatasync);
const fsync = promisify(fs.fsync);

/** Field positions inside a stored batch (see the grammar in record-batch.ts). */
const OFF_LENGTH = 8;
const OFF_MAGIC = 12;
const OFF_LAST_OFFSET_DELTA = 19;
const OFF_MAX_TIMESTAMP = 31;
const OFF_RECORD_COUNT = 39;
const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD;
/** Relative offsets in the indexes are uint32. */
export const MAX_RELATIVE_OFFSET = 0xffffffff;

const SCAN_CHUNK_BYTES = 1024 * 1024;

export const LOG_SUFFIX = ".log";
export const INDEX_SUFFIX = ".index";
export const TIME_INDEX_SUFFIX = ".timeindex";

/** `<baseOffset zero-padded to 20 digits><suffix>`, so names sort like offsets. */
export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, "0") + suffix;
}

/** The base offset a segment file name stands for, or null for other files. */
export function parseSegmentFileName(name: string, suffix = LOG_SUFFIX): number | null {
  if (!name.endsWith(suffix)) return null;
  const stem = name.slice(0, -suffix.length);
  if (!/^\d{20}$/.test(stem)) return null;
  const n = Number(stem);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * What a scan callback returns: nothing or true to go on, false to stop there, a string to
 * stop because the batch is invalid (the string says why).
 */
export type BatchVisit = undefined | boolean | string;

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

export interface ScanResult {
  /** File position after the last batch accepted (where a truncation would cut). */
  position: number;
  /** Why the scan stopped early at `position`, or null (end of file, or the callback stopped). */
  problem: string | null;
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
 * wait for before they close the file descriptor.
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
  private lastBatchOffset: number;
  private bytesSinceLastIndexEntry = 0;
  private indexesDurable = false;
  private unflushedBytes = 0;
  private flushesInFlight = 0;
  private closeWhenIdle = false;
  private deleted = false;
  private fd: number;
  private readonly header = Buffer.allocUnsafe(BATCH_HEADER_SIZE);

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    fd: number,
    public indexIntervalBytes: number,
  ) {
    this.fd = fd;
    this.nextOffset = baseOffset;
    this.lastBatchOffset = baseOffset;
    this.offsetIndex = new OffsetIndex(this.pathFor(INDEX_SUFFIX), baseOffset);
    this.timeIndex = new TimeIndex(this.pathFor(TIME_INDEX_SUFFIX), baseOffset);
  }

  /** Creates an empty segment (replacing leftover files of the same base offset). */
  static create(dir: string, baseOffset: number, indexIntervalBytes: number): LogSegment {
    const logPath = path.join(dir, segmentFileName(baseOffset, LOG_SUFFIX));
    const fd = fs.openSync(logPath, "w+");
    const segment = new LogSegment(dir, baseOffset, fd, indexIntervalBytes);
    fs.rmSync(segment.offsetIndex.path, { force: true });
    fs.rmSync(segment.timeIndex.path, { force: true });
    return segment;
  }

  /**
   * Opens an existing segment without reading it: follow with `loadIndexes` (trusted
   * segments) or `recover` (everything else).
   */
  static open(dir: string, baseOffset: number, indexIntervalBytes: number): LogSegment {
    const fd = fs.openSync(path.join(dir, segmentFileName(baseOffset, LOG_SUFFIX)), "r+");
    const segment = new LogSegment(dir, baseOffset, fd, indexIntervalBytes);
    segment.size = fs.fstatSync(fd).size;
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
    writeFully(this.fd, buf, start, end - start, filePosition);
    if (this.rollTimestamp === null) this.rollTimestamp = now;
    let p = start;
    while (p < end) {
      const batchSize = LOG_OVERHEAD + buf.readInt32BE(p + OFF_LENGTH);
      const base = readInt64(buf, p);
      this.trackBatch(
        base,
        base + buf.readInt32BE(p + OFF_LAST_OFFSET_DELTA) + 1,
        readInt64(buf, p + OFF_MAX_TIMESTAMP),
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
    fs.ftruncateSync(this.fd, mark.size);
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
   */
  read(offset: number, maxBytes: number, limitOffset: number, verify: boolean): Buffer | null {
    const chunkBytes = this.indexIntervalBytes + Math.max(maxBytes, 4096);
    let position = this.offsetIndex.lookup(offset).position;
    while (position < this.size) {
      const chunk = this.readAt(position, Math.min(chunkBytes, this.size - position));
      let p = 0;
      while (p + BATCH_HEADER_SIZE <= chunk.length) {
        const batchSize = this.checkedBatchSize(chunk, p, position + p);
        const base = readInt64(chunk, p);
        if (base >= limitOffset) return null;
        if (base + chunk.readInt32BE(p + OFF_LAST_OFFSET_DELTA) >= offset) {
          const start = position + p;
          let data = chunk.subarray(p);
          if (data.length < batchSize) {
            data = this.readAt(start, Math.max(batchSize, Math.min(maxBytes, this.size - start)));
          }
          return this.wholeBatches(data, start, maxBytes, limitOffset, verify);
        }
        p += batchSize;
      }
      if (p === 0) {
        // A batch header cut by the chunk end: only possible at the file's end.
        return null;
      }
      position += p;
    }
    return null;
  }

  /** Trims `data` (starting at a batch at file position `start`) to whole valid batches. */
  private wholeBatches(
    data: Buffer,
    start: number,
    maxBytes: number,
    limitOffset: number,
    verify: boolean,
  ): Buffer {
    let end = 0;
    while (end + LOG_OVERHEAD <= data.length) {
      const batchSize = this.checkedBatchSize(data, end, start + end);
      if (end + batchSize > data.length) break;
      if (end > 0 && end + batchSize > maxBytes) break;
      if (readInt64(data, end) >= limitOffset) break;
      if (verify) {
        const problem = batchProblem(data, end);
        if (problem !== null) {
          if (end === 0) throw this.corrupt(problem, start, readInt64(data, 0));
          break;
        }
      }
      end += batchSize;
    }
    return data.subarray(0, end);
  }

  private checkedBatchSize(buf: Buffer, p: number, filePosition: number): number {
    const length = buf.readInt32BE(p + OFF_LENGTH);
    if (length < MIN_BATCH_LENGTH || filePosition + LOG_OVERHEAD + length > this.size) {
      throw this.corrupt(
        `batch declares length ${length}, which does not fit the segment (${this.size} bytes)`,
        filePosition,
        readInt64(buf, p),
      );
    }
    return LOG_OVERHEAD + length;
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
    if (this.maxTimestamp < timestamp) return null;
    const startOffset = this.timeIndex.lookup(timestamp);
    const from = this.offsetIndex.lookup(startOffset).position;
    let result: number | null = null;
    const scan = this.scan(from, (batch, position) => {
      if (batch.baseOffset >= limitOffset) return false;
      if (batch.maxTimestamp < timestamp) return;
      const problem = batchProblem(batch.buffer, batch.position);
      if (problem !== null) throw this.corrupt(problem, position, batch.baseOffset);
      batch.forEach((r) => {
        if (result === null && r.timestamp >= timestamp && r.offset < limitOffset) {
          result = r.offset;
        }
      });
      return result === null;
    });
    if (scan.problem !== null) throw this.corrupt(scan.problem, scan.position, -1);
    return result;
  }

  /**
   * Visits the batches from file position `from` in order, reading the file in large
   * chunks. Checks only that each batch's length fits the file; the callback checks more.
   */
  scan(from: number, visit: (batch: RecordBatch, position: number) => BatchVisit): ScanResult {
    let chunk = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, Math.max(this.size - from, 0)));
    let chunkStart = from;
    let chunkLength = 0;
    let position = from;
    while (position < this.size) {
      let p = position - chunkStart;
      if (p + LOG_OVERHEAD > chunkLength) {
        chunkStart = position;
        chunkLength = fs.readSync(
          this.fd,
          chunk,
          0,
          Math.min(chunk.length, this.size - position),
          position,
        );
        p = 0;
        if (chunkLength < LOG_OVERHEAD)
          return { position, problem: "a partial batch header ends the file" };
      }
      const length = chunk.readInt32BE(p + OFF_LENGTH);
      if (length < MIN_BATCH_LENGTH) {
        return { position, problem: `batch declares length ${length}, below the header size` };
      }
      const batchSize = LOG_OVERHEAD + length;
      if (position + batchSize > this.size) {
        return {
          position,
          problem: `batch of ${batchSize} bytes runs past the end of the file (${this.size} bytes): a torn write`,
        };
      }
      if (p + batchSize > chunkLength) {
        if (batchSize > chunk.length) chunk = Buffer.allocUnsafe(batchSize);
        chunkStart = position;
        chunkLength = readFullyAt(
          this.fd,
          chunk,
          Math.min(chunk.length, this.size - position),
          position,
        );
        p = 0;
      }
      const verdict = visit(new RecordBatch(chunk, p), position);
      if (verdict === false) return { position, problem: null };
      if (typeof verdict === "string") return { position, problem: verdict };
      position += batchSize;
    }
    return { position, problem: null };
  }

  /**
   * Loads the indexes of a segment that was cleanly closed or sealed before the recovery
   * checkpoint, and re-reads the batches after the last index entry (the end offset and
   * timestamp live there). Returns false when anything fails its check: then `recover`.
   */
  loadIndexes(): boolean {
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
    if (!this.timeIndex.load(this.nextOffset)) return false;
    this.maxTimestamp = Math.max(this.timeIndex.lastTimestamp, maxTs);
    if (this.rollTimestamp === null && this.size > 0)
      this.rollTimestamp = this.firstBatchTimestamp();
    this.indexesDurable = true;
    return true;
  }

  /**
   * Re-verifies every batch (structure, CRC, offsets ascending from `expectedOffset`),
   * truncates the file at the first one that fails (a torn or corrupt tail is never
   * served) and rebuilds both indexes. Returns the bytes cut off.
   */
  recover(expectedOffset = this.baseOffset): number {
    this.offsetIndex.clear();
    this.timeIndex.clear();
    this.bytesSinceLastIndexEntry = 0;
    this.maxTimestamp = Number.NEGATIVE_INFINITY;
    this.nextOffset = this.baseOffset;
    this.lastBatchOffset = this.baseOffset;
    this.rollTimestamp = null;
    let next = Math.max(expectedOffset, this.baseOffset);
    const result = this.scan(0, (batch, position) => {
      const problem = batchProblem(batch.buffer, batch.position);
      if (problem !== null) return problem;
      const base = batch.baseOffset;
      if (base < next) return `batch offset ${base} goes back before ${next}`;
      if (batch.lastOffset - this.baseOffset > MAX_RELATIVE_OFFSET) {
        return `batch offset ${base} is too far from the segment base ${this.baseOffset}`;
      }
      if (this.rollTimestamp === null) this.rollTimestamp = batch.maxTimestamp;
      this.trackBatch(base, batch.nextOffset, batch.maxTimestamp, position, batch.sizeInBytes);
      next = batch.nextOffset;
    });
    const truncated = this.size - result.position;
    if (truncated > 0) this.truncateTo(result.position);
    this.indexesDurable = false;
    return truncated;
  }

  /** Cuts the .log file at `position`, a batch boundary, and drops index entries past it. */
  truncateTo(position: number): void {
    fs.ftruncateSync(this.fd, position);
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
    return h.length === BATCH_HEADER_SIZE ? readInt64(h, OFF_MAX_TIMESTAMP) : Date.now();
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
    this.flushesInFlight++;
    try {
      const covered = this.unflushedBytes;
      logMetrics.fsyncs++;
      await fdatasync(this.fd);
      this.unflushedBytes -= covered;
      if (this.sealed && !this.indexesDurable && !this.deleted) {
        for (const p of [this.offsetIndex.path, this.timeIndex.path]) {
          const fd = fs.openSync(p, "r");
          try {
            await fsync(fd);
          } finally {
            fs.closeSync(fd);
          }
          if (this.deleted) break;
        }
        this.indexesDurable = true;
      }
    } finally {
      this.flushesInFlight--;
      if (this.closeWhenIdle && this.flushesInFlight === 0) this.closeFd();
    }
  }

  /**
   * Flushes the log and writes the indexes (a cleanly closed segment's indexes are
   * trusted on the next open), then closes the file. The caller has awaited any flushAsync.
   */
  close(): void {
    if (this.fd < 0) return;
    if (this.sealed && this.indexesDurable && this.unflushedBytes === 0) {
      this.closeFd();
      return;
    }
    fs.fdatasyncSync(this.fd);
    this.unflushedBytes = 0;
    this.writeIndexes();
    for (const p of [this.offsetIndex.path, this.timeIndex.path]) {
      const fd = fs.openSync(p, "r");
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    this.indexesDurable = true;
    this.closeFd();
  }

  /** fdatasyncs the log (and a sealed segment's index files) before returning. */
  flushSync(): void {
    fs.fdatasyncSync(this.fd);
    this.unflushedBytes = 0;
    if (this.sealed && !this.indexesDurable) {
      for (const p of [this.offsetIndex.path, this.timeIndex.path]) {
        const fd = fs.openSync(p, "r");
        try {
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
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
    if (this.flushesInFlight > 0) this.closeWhenIdle = true;
    else this.closeFd();
  }

  private closeFd(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  /** Reads `length` bytes at `position` into a new buffer. */
  readAt(position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    const n = readFullyAt(this.fd, buf, length, position);
    return n === length ? buf : buf.subarray(0, n);
  }

  /** The header of the batch at `position` (a view of a shared buffer, valid until the next call). */
  readHeader(position: number): RecordBatch {
    readFullyAt(this.fd, this.header, BATCH_HEADER_SIZE, position);
    return new RecordBatch(this.header, 0);
  }
}

/** What is wrong with the batch at `p`, or null: version, CRC, record count, offsets. */
export function batchProblem(buf: Buffer, p: number): string | null {
  const magic = buf.readInt8(p + OFF_MAGIC);
  if (magic !== MAGIC) return `format version ${magic}, expected ${MAGIC}`;
  const batch = new RecordBatch(buf, p);
  const stored = batch.crc;
  const actual = batch.computeCrc();
  if (stored !== actual) return `CRC mismatch (stored ${stored}, computed ${actual})`;
  const count = buf.readInt32BE(p + OFF_RECORD_COUNT);
  if (count <= 0) return `record count ${count}`;
  const lastDelta = buf.readInt32BE(p + OFF_LAST_OFFSET_DELTA);
  if (lastDelta < count - 1)
    return `last offset delta ${lastDelta} is below record count ${count} - 1`;
  return null;
}

function writeFully(
  fd: number,
  buf: Buffer,
  offset: number,
  length: number,
  position: number,
): void {
  let done = 0;
  while (done < length) {
    done += fs.writeSync(fd, buf, offset + done, length - done, position + done);
  }
}

function readFullyAt(fd: number, buf: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
