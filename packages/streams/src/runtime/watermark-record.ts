import type { LogRecord, ProducerRecord } from "@tributary/log";

/**
 * Watermark records: what an upstream task (a writer) tells every partition of an internal
 * topic it writes about its event time (docs/streams-runtime.md, "Event time across
 * sub-topologies"). The header's presence marks one; the source node of the reading task
 * takes it out before any user code sees it.
 */
export const WATERMARK_HEADER = "tributary.wm";

const VERSION = 1;
const SIZE = 1 + 4 + 4 + 8 + 1;
const MARK = Buffer.from([VERSION]);

export interface Watermark {
  /** The writer: its sub-topology and partition (its task id is `<sub>_<partition>`). */
  subtopology: number;
  partition: number;
  /** Event time the writer has reached; -1 before any. */
  time: number;
  /** Every input of the writer is idle: leave it out of the minimum. */
  idle: boolean;
}

/*
 * WatermarkRecord (value; header tributary.wm = version byte; key null):
 *   WatermarkRecord => version:int8(1) subtopology:int32 partition:int32 watermark:int64 flags:int8
 *   flags: bit 0 = idle
 * timestamp = max(watermark, 0)
 */
export function watermarkRecord(w: Watermark, partition: number): ProducerRecord {
  const value = Buffer.allocUnsafe(SIZE);
  value.writeInt8(VERSION, 0);
  value.writeInt32BE(w.subtopology, 1);
  value.writeInt32BE(w.partition, 5);
  value.writeBigInt64BE(BigInt(w.time), 9);
  value.writeInt8(w.idle ? 1 : 0, 17);
  return {
    key: null,
    value,
    timestamp: Math.max(0, w.time),
    headers: { [WATERMARK_HEADER]: MARK },
    partition,
  };
}

/** True for a watermark record (header present). */
export function isWatermarkRecord(record: LogRecord): boolean {
  return record.headers[WATERMARK_HEADER] !== undefined;
}

/** Decodes a watermark record's value; undefined for a version or size it does not know
 * (a newer writer: skipped, which only holds event time back). */
export function decodeWatermark(record: LogRecord): Watermark | undefined {
  const v = record.value;
  if (v === null || v.length < SIZE || v.readInt8(0) !== VERSION) return undefined;
  return {
    subtopology: v.readInt32BE(1),
    partition: v.readInt32BE(5),
    time: Number(v.readBigInt64BE(9)),
    idle: (v.readInt8(17) & 1) === 1,
  };
}
