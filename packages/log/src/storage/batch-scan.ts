import fs from "node:fs";
import { readFullyAt } from "./positioned-io.js";
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, RecordBatch } from "../record-batch.js";

/**
 * What a scan callback returns: nothing or true to go on, false to stop there, a string to
 * stop because the batch is invalid (the string says why).
 */
export type BatchVisit = undefined | boolean | string;

export interface ScanResult {
  /** File position after the last batch accepted (where a truncation would cut). */
  position: number;
  /** Why the scan stopped early at `position`, or null (end of file, or the callback stopped). */
  problem: string | null;
}

/** batchLength's position inside a stored batch (see the grammar in record-batch-layout.ts). */
const OFF_LENGTH = 8;
const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD;
const SCAN_CHUNK_BYTES = 1024 * 1024;

/**
 * Visits the batches of a segment file (descriptor `fd`, `size` bytes) from position
 * `from`, in order, reading the file in large chunks. Checks only that each batch's length
 * fits the file; the callback checks more (CRC, offsets: see LogSegment).
 */
export function scanBatches(
  fd: number,
  size: number,
  from: number,
  visit: (batch: RecordBatch, position: number) => BatchVisit,
): ScanResult {
  let chunk = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, Math.max(size - from, 0)));
  let chunkStart = from;
  let chunkLength = 0;
  let position = from;
  while (position < size) {
    let p = position - chunkStart;
    if (p + LOG_OVERHEAD > chunkLength) {
      chunkStart = position;
      chunkLength = fs.readSync(fd, chunk, 0, Math.min(chunk.length, size - position), position);
      p = 0;
      if (chunkLength < LOG_OVERHEAD)
        return { position, problem: "a partial batch header ends the file" };
    }
    const length = chunk.readInt32BE(p + OFF_LENGTH);
    if (length < MIN_BATCH_LENGTH) {
      return { position, problem: `batch declares length ${length}, below the header size` };
    }
    const batchSize = LOG_OVERHEAD + length;
    if (position + batchSize > size) {
      return {
        position,
        problem: `batch of ${batchSize} bytes runs past the end of the file (${size} bytes): a torn write`,
      };
    }
    if (p + batchSize > chunkLength) {
      if (batchSize > chunk.length) chunk = Buffer.allocUnsafe(batchSize);
      chunkStart = position;
      chunkLength = readFullyAt(fd, chunk, Math.min(chunk.length, size - position), position);
      p = 0;
    }
    const verdict = visit(new RecordBatch(chunk, p), position);
    if (verdict === false) return { position, problem: null };
    if (typeof verdict === "string") return { position, problem: verdict };
    position += batchSize;
  }
  return { position, problem: null };
}
