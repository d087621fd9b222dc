import { type LogRecord, NO_HEADERS } from "./record.js";

/**
 * Tributary's own record batch format, magic 1, which every version before the switch to
 * Kafka's v2 (record-batch.ts) wrote. It is only read now: data directories written by
 * earlier versions open, verify, serve and compact (a rewrite writes v2). Its header
 * fields are read through the accessors in record-batch.ts, which tell the two apart by
 * byte 12 (magic here, the top byte of partitionLeaderEpoch in v2, never 1 there).
 *
 *   LegacyRecordBatch =>
 *     baseOffset:int64 batchLength:int32 magic:int8 (1) crc:uint32 (CRC-32C of every
 *     byte after it) attributes:int16 (0) lastOffsetDelta:int32 baseTimestamp:int64
 *     maxTimestamp:int64 recordCount:int32 records:[LegacyRecord]
 *
 *   LegacyRecord =>
 *     length:int32 offsetDelta:int32 timestamp:int64 keyLength:int32 (-1 null) key:bytes
 *     valueLength:int32 (-1 null) value:bytes headerCount:int32
 *     headers:[keyLength:int32 key:utf8 valueLength:int32 value:bytes]
 */
export const LEGACY_BATCH_HEADER_SIZE = 43;
const RECORD_FIXED_SIZE = 4 + 4 + 8 + 4 + 4 + 4;
const TWO_32 = 4294967296;

/**
 * Decodes the `count` records of the magic-1 batch at `position` (`end` is where it ends,
 * `base` its base offset); `malformed(i)` makes the error for record i overrunning it.
 */
export function forEachLegacyRecord(
  buf: Buffer,
  position: number,
  end: number,
  base: number,
  count: number,
  fn: (record: LogRecord) => void,
  malformed: (index: number) => Error,
): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const ab = buf.buffer;
  const abOffset = buf.byteOffset;
  let pos = position + LEGACY_BATCH_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    if (pos + RECORD_FIXED_SIZE > end) throw malformed(i);
    const length = dv.getInt32(pos);
    const recordEnd = pos + 4 + length;
    if (length < RECORD_FIXED_SIZE - 4 || recordEnd > end) throw malformed(i);
    const offset = base + dv.getInt32(pos + 4);
    const timestamp = dv.getInt32(pos + 8) * TWO_32 + dv.getUint32(pos + 12);
    let p = pos + 16;
    const kl = dv.getInt32(p);
    p += 4;
    let key: Buffer | null = null;
    if (kl >= 0) {
      if (p + kl > recordEnd) throw malformed(i);
      key = Buffer.from(ab, abOffset + p, kl);
      p += kl;
    }
    const vl = dv.getInt32(p);
    p += 4;
    let value: Buffer | null = null;
    if (vl >= 0) {
      if (p + vl > recordEnd) throw malformed(i);
      value = Buffer.from(ab, abOffset + p, vl);
      p += vl;
    }
    const hc = dv.getInt32(p);
    p += 4;
    let headers: Record<string, Buffer> = NO_HEADERS;
    if (hc !== 0) {
      headers = {};
      for (let h = 0; h < hc; h++) {
        const hkl = dv.getInt32(p);
        if (hkl < 0 || p + 4 + hkl > recordEnd) throw malformed(i);
        const hk = buf.toString("utf8", p + 4, p + 4 + hkl);
        p += 4 + hkl;
        const hvl = dv.getInt32(p);
        if (hvl < 0 || p + 4 + hvl > recordEnd) throw malformed(i);
        headers[hk] = buf.subarray(p + 4, p + 4 + hvl);
        p += 4 + hvl;
      }
    }
    fn({ offset, timestamp, key, value, headers });
    pos = recordEnd;
  }
}
