import { crc32c } from "@node-rs/crc32";
import { CorruptRecordError } from "./errors.js";
import type { LogRecord, ProducerRecord, RecordHeaders } from "./record.js";

/**
 * The record batch: the unit the log appends, stores, indexes and serves. A producer
 * encodes a whole batch once; the log stamps its base offset and writes the bytes as they
 * are; a fetch returns the stored bytes and the reader checks the CRC and decodes. No
 * layer in between touches individual records.
 *
 * Format (all integers big-endian, like Kafka):
 *
 *   RecordBatch =>
 *     baseOffset:int64        offset of the first record; stamped by the log at append,
 *                             so it is outside the CRC
 *     batchLength:int32       bytes after this field
 *     magic:int8              format version, MAGIC
 *     crc:uint32              CRC-32C of every byte after this field
 *     attributes:int16        reserved, 0 (compression and control bits later)
 *     lastOffsetDelta:int32   offset of the last record minus baseOffset; kept by
 *                             compaction even when the last record is removed
 *     baseTimestamp:int64     smallest record timestamp
 *     maxTimestamp:int64      largest record timestamp
 *     recordCount:int32
 *     records:[Record]
 *
 *   Record =>
 *     length:int32            bytes after this field
 *     offsetDelta:int32       offset minus baseOffset (gapless until compaction)
 *     timestamp:int64         ms since the epoch
 *     keyLength:int32         -1 for a null key
 *     key:bytes
 *     valueLength:int32       -1 for a null value (tombstone)
 *     value:bytes
 *     headerCount:int32
 *     headers:[keyLength:int32 key:utf8 valueLength:int32 value:bytes]
 *
 * Timestamps are absolute per record (not deltas) so that replayed history with
 * arbitrary event times needs no special case.
 */
export const MAGIC = 1;
export const BATCH_HEADER_SIZE = 43;
/** Bytes before batchLength's payload: baseOffset + batchLength. */
export const LOG_OVERHEAD = 12;
const RECORD_FIXED_SIZE = 4 + 4 + 8 + 4 + 4 + 4;

const OFF_BASE_OFFSET = 0;
const OFF_LENGTH = 8;
const OFF_MAGIC = 12;
const OFF_CRC = 13;
const OFF_ATTRIBUTES = 17;
const OFF_LAST_OFFSET_DELTA = 19;
const OFF_BASE_TIMESTAMP = 23;
const OFF_MAX_TIMESTAMP = 31;
const OFF_RECORD_COUNT = 39;

const TWO_32 = 4294967296;
/** Shared by every record without headers, so decoding allocates no object for them. */
const NO_HEADERS: Record<string, Buffer> = Object.freeze({}) as Record<string, Buffer>;

export function writeInt64(buf: Buffer, value: number, pos: number): void {
  // Offsets and ms timestamps stay well inside 2^53, so a double holds them exactly and
  // two 32-bit writes avoid BigInt on the hot path.
  const hi = Math.floor(value / TWO_32);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * TWO_32, pos + 4);
}

export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
}

function headersSize(headers: RecordHeaders | undefined): number {
  if (headers === undefined) return 0;
  let size = 0;
  for (const k in headers) {
    const v = headers[k]!;
    size += 8 + Buffer.byteLength(k) + (typeof v === "string" ? Buffer.byteLength(v) : v.length);
  }
  return size;
}

export interface EncodeOptions {
  /** Written into the batch; the log overwrites it at append. */
  baseOffset?: number;
  /** Clock for records without a timestamp. */
  now?: number;
  /** Offset delta of each record (compaction keeps original offsets); default 0..n-1. */
  offsetDeltas?: readonly number[];
  /** Default: the last record's offset delta. */
  lastOffsetDelta?: number;
}

/** Encodes records into one batch, in one allocation. */
export function encodeBatch(
  records: readonly ProducerRecord[],
  options: EncodeOptions = {},
): Buffer {
  const n = records.length;
  if (n === 0) throw new RangeError("a record batch needs at least one record");
  const now = options.now ?? Date.now();
  let size = BATCH_HEADER_SIZE;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    size += RECORD_FIXED_SIZE + (r.key ? r.key.length : 0) + (r.value ? r.value.length : 0);
    if (r.headers !== undefined) size += headersSize(r.headers);
  }
  const buf = Buffer.allocUnsafe(size);
  // DataView accessors are several times faster than Buffer's readInt32BE family on
  // Node 20 (measured: 94 M vs 15 M reads/s), and this loop runs once per record.
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = BATCH_HEADER_SIZE;
  let minTs = Number.POSITIVE_INFINITY;
  let maxTs = Number.NEGATIVE_INFINITY;
  const deltas = options.offsetDeltas;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const start = pos;
    dv.setInt32(pos + 4, deltas ? deltas[i]! : i);
    const ts = r.timestamp ?? now;
    if (ts < minTs) minTs = ts;
    if (ts > maxTs) maxTs = ts;
    const hi = Math.floor(ts / TWO_32);
    dv.setInt32(pos + 8, hi);
    dv.setUint32(pos + 12, ts - hi * TWO_32);
    pos += 16;
    const key = r.key;
    if (key) {
      dv.setInt32(pos, key.length);
      buf.set(key, pos + 4);
      pos += 4 + key.length;
    } else {
      dv.setInt32(pos, -1);
      pos += 4;
    }
    const value = r.value;
    if (value) {
      dv.setInt32(pos, value.length);
      buf.set(value, pos + 4);
      pos += 4 + value.length;
    } else {
      dv.setInt32(pos, -1);
      pos += 4;
    }
    const headers = r.headers;
    if (headers === undefined) {
      dv.setInt32(pos, 0);
      pos += 4;
    } else {
      pos = writeHeaders(buf, dv, pos, headers);
    }
    dv.setInt32(start, pos - start - 4);
  }
  writeInt64(buf, options.baseOffset ?? 0, OFF_BASE_OFFSET);
  dv.setInt32(OFF_LENGTH, size - LOG_OVERHEAD);
  dv.setInt8(OFF_MAGIC, MAGIC);
  dv.setInt16(OFF_ATTRIBUTES, 0);
  dv.setInt32(OFF_LAST_OFFSET_DELTA, options.lastOffsetDelta ?? (deltas ? deltas[n - 1]! : n - 1));
  writeInt64(buf, minTs, OFF_BASE_TIMESTAMP);
  writeInt64(buf, maxTs, OFF_MAX_TIMESTAMP);
  dv.setInt32(OFF_RECORD_COUNT, n);
  dv.setUint32(OFF_CRC, crc32c(buf.subarray(OFF_ATTRIBUTES)));
  return buf;
}

function writeHeaders(buf: Buffer, dv: DataView, pos: number, headers: RecordHeaders): number {
  const countPos = pos;
  pos += 4;
  let count = 0;
  for (const k in headers) {
    const v = headers[k]!;
    const kl = buf.write(k, pos + 4);
    dv.setInt32(pos, kl);
    pos += 4 + kl;
    if (typeof v === "string") {
      const vl = buf.write(v, pos + 4);
      dv.setInt32(pos, vl);
      pos += 4 + vl;
    } else {
      dv.setInt32(pos, v.length);
      buf.set(v, pos + 4);
      pos += 4 + v.length;
    }
    count++;
  }
  dv.setInt32(countPos, count);
  return pos;
}

/** Encodes records that already have offsets (compaction, copying), keeping them. */
export function encodeBatchAt(
  records: readonly LogRecord[],
  baseOffset: number,
  lastOffsetDelta: number,
): Buffer {
  return encodeBatch(records, {
    baseOffset,
    lastOffsetDelta,
    offsetDeltas: records.map((r) => r.offset - baseOffset),
  });
}

/** Stamps the base offset of a batch in place (outside the CRC, so no recompute). */
export function setBaseOffset(buf: Buffer, batchPosition: number, baseOffset: number): void {
  writeInt64(buf, baseOffset, batchPosition + OFF_BASE_OFFSET);
}

/**
 * A view of one batch inside a larger buffer (a fetched chunk or a segment read). Reading
 * header fields costs nothing; records are decoded only when asked for.
 */
export class RecordBatch {
  constructor(
    readonly buffer: Buffer,
    readonly position = 0,
  ) {}

  get baseOffset(): number {
    return readInt64(this.buffer, this.position + OFF_BASE_OFFSET);
  }
  get batchLength(): number {
    return this.buffer.readInt32BE(this.position + OFF_LENGTH);
  }
  /** Whole batch size on disk, header included. */
  get sizeInBytes(): number {
    return LOG_OVERHEAD + this.batchLength;
  }
  get magic(): number {
    return this.buffer.readInt8(this.position + OFF_MAGIC);
  }
  get crc(): number {
    return this.buffer.readUInt32BE(this.position + OFF_CRC);
  }
  get lastOffsetDelta(): number {
    return this.buffer.readInt32BE(this.position + OFF_LAST_OFFSET_DELTA);
  }
  get lastOffset(): number {
    return this.baseOffset + this.lastOffsetDelta;
  }
  /** The offset after this batch. */
  get nextOffset(): number {
    return this.lastOffset + 1;
  }
  get baseTimestamp(): number {
    return readInt64(this.buffer, this.position + OFF_BASE_TIMESTAMP);
  }
  get maxTimestamp(): number {
    return readInt64(this.buffer, this.position + OFF_MAX_TIMESTAMP);
  }
  get recordCount(): number {
    return this.buffer.readInt32BE(this.position + OFF_RECORD_COUNT);
  }
  /** The batch's bytes, sharing memory with the underlying buffer. */
  bytes(): Buffer {
    return this.buffer.subarray(this.position, this.position + this.sizeInBytes);
  }

  computeCrc(): number {
    return crc32c(
      this.buffer.subarray(this.position + OFF_ATTRIBUTES, this.position + this.sizeInBytes),
    );
  }

  isValid(): boolean {
    return this.magic === MAGIC && this.computeCrc() === this.crc;
  }

  /** Throws a CorruptRecordError naming `where` when the CRC or version is wrong. */
  verify(where = "record batch"): void {
    if (this.magic !== MAGIC) {
      throw new CorruptRecordError(
        `${where}: batch at offset ${this.baseOffset} has format version ${this.magic}, expected ${MAGIC}`,
        { offset: this.baseOffset },
      );
    }
    const actual = this.computeCrc();
    if (actual !== this.crc) {
      throw new CorruptRecordError(
        `${where}: CRC mismatch in batch at offset ${this.baseOffset} (stored ${this.crc}, computed ${actual}); the bytes are corrupt`,
        { offset: this.baseOffset },
      );
    }
  }

  /** Decodes every record. Buffers share memory with the batch. */
  records(): LogRecord[] {
    const out = new Array<LogRecord>(this.recordCount);
    let i = 0;
    this.forEach((r) => {
      out[i++] = r;
    });
    out.length = i;
    return out;
  }

  /** Decodes records one by one; the structure is bounds-checked against the batch. */
  forEach(fn: (record: LogRecord) => void): void {
    const buf = this.buffer;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    // Buffer.from(arrayBuffer, offset, length) makes the same zero-copy view as subarray
    // at twice the speed on Node 20 (measured 23 M vs 12 M/s): it skips the clamping.
    const ab = buf.buffer;
    const abOffset = buf.byteOffset;
    const end = this.position + this.sizeInBytes;
    const base = this.baseOffset;
    const count = this.recordCount;
    let pos = this.position + BATCH_HEADER_SIZE;
    for (let i = 0; i < count; i++) {
      if (pos + RECORD_FIXED_SIZE > end) throw this.malformed(i);
      const length = dv.getInt32(pos);
      const recordEnd = pos + 4 + length;
      if (length < RECORD_FIXED_SIZE - 4 || recordEnd > end) throw this.malformed(i);
      const offset = base + dv.getInt32(pos + 4);
      const timestamp = dv.getInt32(pos + 8) * TWO_32 + dv.getUint32(pos + 12);
      let p = pos + 16;
      const kl = dv.getInt32(p);
      p += 4;
      let key: Buffer | null = null;
      if (kl >= 0) {
        if (p + kl > recordEnd) throw this.malformed(i);
        key = Buffer.from(ab, abOffset + p, kl);
        p += kl;
      }
      const vl = dv.getInt32(p);
      p += 4;
      let value: Buffer | null = null;
      if (vl >= 0) {
        if (p + vl > recordEnd) throw this.malformed(i);
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
          if (hkl < 0 || p + 4 + hkl > recordEnd) throw this.malformed(i);
          const hk = buf.toString("utf8", p + 4, p + 4 + hkl);
          p += 4 + hkl;
          const hvl = dv.getInt32(p);
          if (hvl < 0 || p + 4 + hvl > recordEnd) throw this.malformed(i);
          headers[hk] = buf.subarray(p + 4, p + 4 + hvl);
          p += 4 + hvl;
        }
      }
      fn({ offset, timestamp, key, value, headers });
      pos = recordEnd;
    }
  }

  private malformed(index: number): CorruptRecordError {
    return new CorruptRecordError(
      `record ${index} of the batch at offset ${this.baseOffset} overruns its batch; the bytes are corrupt`,
      { offset: this.baseOffset },
    );
  }
}

/**
 * Splits a buffer of back-to-back batches into views. A trailing partial batch (a fetch
 * cut at maxBytes) is left out; `bytesUsed` says where it starts. Structure is checked,
 * CRCs are not: call `verify()` on each batch (the consumer does).
 */
export function splitBatches(buf: Buffer): { batches: RecordBatch[]; bytesUsed: number } {
  const batches: RecordBatch[] = [];
  let pos = 0;
  while (pos + LOG_OVERHEAD <= buf.length) {
    const length = buf.readInt32BE(pos + OFF_LENGTH);
    if (length < BATCH_HEADER_SIZE - LOG_OVERHEAD) {
      throw new CorruptRecordError(
        `batch at byte ${pos} declares length ${length}, below the header size`,
        { position: pos },
      );
    }
    if (pos + LOG_OVERHEAD + length > buf.length) break;
    batches.push(new RecordBatch(buf, pos));
    pos += LOG_OVERHEAD + length;
  }
  return { batches, bytesUsed: pos };
}
