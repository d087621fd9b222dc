import fs from "node:fs";
import { promisify } from "node:util";
import { type BatchVisit, type ScanResult, scanBatches } from "./batch-scan.js";
import { readFullyAt, writeFully } from "./positioned-io.js";
import { BATCH_HEADER_SIZE, RecordBatch } from "../record-batch.js";

const fdatasync = promisify(fs.fdatasync);

/**
 * The open descriptor of one segment's `.log` file: positioned reads and writes, and
 * fdatasyncs that may run in the background. The descriptor is closed only once no
 * fdatasync is running on it (a flush racing a delete or a close must not sync a
 * descriptor number the process has since reused for another file).
 *
 * Not safe for concurrent use beyond that: the owning LogSegment calls it from one event
 * loop.
 */
export class SegmentFile {
  private fd: number;
  private syncsInFlight = 0;
  private closeWhenIdle = false;
  private readonly header = Buffer.allocUnsafe(BATCH_HEADER_SIZE);

  constructor(path: string, flags: "w+" | "r+") {
    this.fd = fs.openSync(path, flags);
  }

  get isOpen(): boolean {
    return this.fd >= 0;
  }

  /** The file's size on disk now. */
  statSize(): number {
    return fs.fstatSync(this.fd).size;
  }

  /** Writes `buf[start, start + length)` at `position`, all of it (or throws). */
  write(buf: Buffer, start: number, length: number, position: number): void {
    writeFully(this.fd, buf, start, length, position);
  }

  /** Cuts the file at `size` bytes (shrinking a file needs no free space). */
  truncate(size: number): void {
    fs.ftruncateSync(this.fd, size);
  }

  /** Reads `length` bytes at `position` into a new buffer (shorter at the end of the file). */
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

  /** Visits the batches of the first `size` bytes from position `from` in order (see scanBatches). */
  scan(
    size: number,
    from: number,
    visit: (batch: RecordBatch, position: number) => BatchVisit,
  ): ScanResult {
    return scanBatches(this.fd, size, from, visit);
  }

  /**
   * Runs `work` (which starts with `sync`, an fdatasync off the event loop) while keeping
   * the descriptor open: a `release` meanwhile closes it once `work` ends.
   */
  async whileSyncing<T>(work: (sync: () => Promise<void>) => Promise<T>): Promise<T> {
    this.syncsInFlight++;
    try {
      return await work(() => fdatasync(this.fd));
    } finally {
      this.syncsInFlight--;
      if (this.closeWhenIdle && this.syncsInFlight === 0) this.close();
    }
  }

  /** fdatasyncs on the event loop. */
  syncNow(): void {
    fs.fdatasyncSync(this.fd);
  }

  /** Closes the descriptor without syncing, once any running `whileSyncing` has finished. */
  release(): void {
    if (this.syncsInFlight > 0) this.closeWhenIdle = true;
    else this.close();
  }

  /** Closes the descriptor now (the caller knows no sync is running). */
  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}
