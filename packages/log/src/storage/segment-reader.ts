import { batchProblem } from "./batch-problem.js";
import type { LogSegment } from "./log-segment.js";
import {
  BATCH_HEADER_SIZE,
  batchLastOffsetDelta,
  LOG_OVERHEAD,
  readInt64,
} from "../record-batch.js";

/** batchLength's position inside a stored batch (see the grammar in record-batch-layout.ts). */
const OFF_LENGTH = 8;
/** Every whole batch of either format has at least BATCH_HEADER_SIZE bytes (record-batch-layout.ts). */
const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD;

/**
 * The read path of one LogSegment: finding the batch that holds an offset from the offset
 * index, checking every batch it hands out (length, CRC, offsets rising and fitting the
 * next batch's), and the first offset at a timestamp. It trusts nothing in the file: the
 * damage it meets becomes a CorruptRecordError naming the segment, byte and offset (see
 * LogSegment.read for the rebuild that may follow).
 */
export class SegmentReader {
  constructor(private readonly segment: LogSegment) {}

  /**
   * Whole batches from the one holding `offset`, up to `maxBytes` (at least one), below
   * `limitOffset`; null when this segment has none (see LogSegment.read).
   */
  read(offset: number, maxBytes: number, limitOffset: number, verify: boolean): Buffer | null {
    const range = this.segment.corruptRangeHolding(offset);
    if (range !== undefined) throw this.segment.corruptRangeError(range);
    const chunkBytes = this.segment.indexIntervalBytes + Math.max(maxBytes, 4096);
    const entry = this.segment.offsetIndex.lookup(offset);
    let position = entry.position;
    let first = true;
    // The base offset is outside the CRC: offsets must rise from batch to batch, or the
    // bytes that hold one are damaged.
    let floor = position === 0 ? this.segment.baseOffset : entry.offset;
    while (position < this.segment.size) {
      const chunk = this.segment.readAt(
        position,
        Math.min(chunkBytes, this.segment.size - position),
      );
      if (first && position > 0 && readInt64(chunk, 0) !== entry.offset) {
        throw this.segment.corrupt(
          `the offset index names position ${position} for offset ${entry.offset}, but no batch of that offset starts there`,
          position,
          entry.offset,
        );
      }
      first = false;
      let p = 0;
      while (p + BATCH_HEADER_SIZE <= chunk.length) {
        const batchSize = this.checkedBatchSize(chunk, p, position + p);
        const base = readInt64(chunk, p);
        if (base < floor || base >= this.segment.nextOffset) {
          const problem =
            base < floor
              ? `batch offset ${base} goes back before ${floor}`
              : `batch offset ${base} is past the segment's end offset ${this.segment.nextOffset}`;
          throw this.segment.corrupt(problem, position + p, base);
        }
        if (base >= limitOffset) return null;
        floor = base + batchLastOffsetDelta(chunk, p) + 1;
        if (floor > offset) {
          const start = position + p;
          let data = chunk.subarray(p);
          if (data.length < batchSize) {
            data = this.segment.readAt(
              start,
              Math.max(batchSize, Math.min(maxBytes, this.segment.size - start)),
            );
          }
          const stop =
            this.segment.corruptRanges.find((r) => r.start >= start)?.start ?? this.segment.size;
          if (data.length > stop - start) data = data.subarray(0, stop - start);
          return this.wholeBatches(data, start, maxBytes, limitOffset, verify, base);
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

  /**
   * Trims `data` (starting at a batch at file position `start`, base offset `floor` or
   * more) to whole valid batches, each followed by a batch of a higher offset.
   */
  private wholeBatches(
    data: Buffer,
    start: number,
    maxBytes: number,
    limitOffset: number,
    verify: boolean,
    floor: number,
  ): Buffer {
    let end = 0;
    while (end + LOG_OVERHEAD <= data.length) {
      const batchSize = this.checkedBatchSize(data, end, start + end);
      if (end + batchSize > data.length) break;
      if (end > 0 && end + batchSize > maxBytes) break;
      const base = readInt64(data, end);
      if (base >= limitOffset) break;
      const problem =
        (verify ? batchProblem(data, end) : null) ??
        this.offsetProblem(data, end, start + end, floor);
      if (problem !== null) {
        if (end === 0) throw this.segment.corrupt(problem, start, base);
        break;
      }
      floor = base + batchLastOffsetDelta(data, end) + 1;
      end += batchSize;
    }
    return data.subarray(0, end);
  }

  /**
   * Whether the (unprotected) base offset of the batch at `p` of `data`, file position
   * `position`, fits between `floor` and the base offset of the batch after it.
   */
  private offsetProblem(data: Buffer, p: number, position: number, floor: number): string | null {
    const base = readInt64(data, p);
    if (base < floor) return `batch offset ${base} goes back before ${floor}`;
    const next = base + batchLastOffsetDelta(data, p) + 1;
    const after = position + LOG_OVERHEAD + data.readInt32BE(p + OFF_LENGTH);
    if (after + 8 > this.segment.size || this.segment.corruptRanges.some((r) => r.start === after))
      return null;
    const following =
      p + (after - position) + 8 <= data.length
        ? readInt64(data, p + (after - position))
        : readInt64(this.segment.readAt(after, 8), 0);
    return following < next
      ? `batch offset ${base} runs to ${next - 1}, past the next batch's offset ${following}: its base offset is damaged`
      : null;
  }

  private checkedBatchSize(buf: Buffer, p: number, filePosition: number): number {
    const length = buf.readInt32BE(p + OFF_LENGTH);
    if (length < MIN_BATCH_LENGTH || filePosition + LOG_OVERHEAD + length > this.segment.size) {
      throw this.segment.corrupt(
        `batch declares length ${length}, which does not fit the segment (${this.segment.size} bytes)`,
        filePosition,
        readInt64(buf, p),
      );
    }
    return LOG_OVERHEAD + length;
  }

  /**
   * The first offset in this segment below `limitOffset` whose record timestamp is >=
   * `timestamp`, or null. Starts from the time index and checks each batch it decodes.
   */
  offsetForTimestamp(timestamp: number, limitOffset: number): number | null {
    if (this.segment.maxTimestamp < timestamp) return null;
    const startOffset = this.segment.timeIndex.lookup(timestamp);
    const from = this.segment.offsetIndex.lookup(startOffset).position;
    let result: number | null = null;
    const scan = this.segment.scan(from, (batch, position) => {
      if (batch.baseOffset >= limitOffset) return false;
      if (batch.maxTimestamp < timestamp) return;
      const problem = batchProblem(batch.buffer, batch.position);
      if (problem !== null) throw this.segment.corrupt(problem, position, batch.baseOffset);
      batch.forEach((r) => {
        if (result === null && r.timestamp >= timestamp && r.offset < limitOffset) {
          result = r.offset;
        }
      });
      return result === null;
    });
    if (scan.problem !== null) throw this.segment.corrupt(scan.problem, scan.position, -1);
    return result;
  }
}
