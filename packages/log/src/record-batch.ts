import { crc32c } from "@node-rs/crc32";
import { CorruptRecordError, UnsupportedCompressionError } from "./errors.js";
import { forEachLegacyRecord, LEGACY_BATCH_HEADER_SIZE } from "./legacy-record-batch.js";
import type { LogRecord, ProducerRecord, RecordHeaders } from "./record.js";
import {
  readVarint,
  readVarlong,
  sizeOfLength,
  sizeOfVarint,
  sizeOfVarlong,
  varintEnd,
  writeLength,
  writeVarint,
  writeVarlong,
} from "./varint.js";

/**
 * The record batch: the unit the log appends, stores, indexes and serves. A producer
 * encodes a whole batch once; the log stamps its base offset and writes the bytes as they
 * are; a fetch returns the stored bytes and the reader checks the CRC and decodes. No
 * layer in between touches individual records.
 *
 * The format is Kafka's RecordBatch v2, byte for byte (integers big-endian; varints are
 * zigzag, see varint.ts), so one codec serves the disk, the broker and the Kafka wire:
 *
 *   RecordBatch =>
 *     baseOffset:int64           offset of the first record; stamped by the log at
 *                                append, so it is outside the CRC
 *     batchLength:int32          bytes after this field
 *     partitionLeaderEpoch:int32 -1 (Tributary has no leader epochs); outside the CRC
 *     magic:int8                 2
 *     crc:uint32                 CRC-32C of attributes..end
 *     attributes:int16           bits 0-2 compression (0 none, 1 gzip, 2 snappy, 3 lz4,
 *                                4 zstd; only 0 is written, the others are refused),
 *                                bit 3 timestampType (0 create time), bit 4
 *                                isTransactional (a transaction's records), bit 5
 *                                isControl (a COMMIT/ABORT marker: control-batch.ts)
 *     lastOffsetDelta:int32      offset of the last record minus baseOffset; kept by
 *                                compaction even when the last record is removed
 *     baseTimestamp:int64        the first record's timestamp
 *     maxTimestamp:int64         the largest record timestamp
 *     producerId:int64           -1 for none (not idempotent)
 *     producerEpoch:int16        -1 for none
 *     baseSequence:int32         the first record's sequence number, -1 for none
 *     recordCount:int32
 *     records:[Record]
 *
 *   Record =>
 *     length:varint              bytes after this field
 *     attributes:int8            0 (unused, as in Kafka)
 *     timestampDelta:varlong     timestamp minus baseTimestamp (may be negative)
 *     offsetDelta:varint         offset minus baseOffset (gapless until compaction)
 *     keyLength:varint           -1 for a null key
 *     key:bytes
 *     valueLength:varint         -1 for a null value (tombstone)
 *     value:bytes
 *     headerCount:varint
 *     headers:[keyLength:varint key:utf8 valueLength:varint value:bytes]
 *                                (a null header value, -1, which Tributary never
 *                                writes, reads as empty bytes)
 *
 * Batches of Tributary's earlier format, magic 1 (legacy-record-batch.ts), are still read:
 * the header accessors here (`batchLastOffsetDelta`, ...) and RecordBatch handle both.
 * Byte 12 tells them apart: magic in a magic-1 batch, the top byte of partitionLeaderEpoch
 * (0xff) in a v2 one.
 */
export const MAGIC = 2;
export const LEGACY_MAGIC = 1;
export const BATCH_HEADER_SIZE = 61;
/** Bytes before batchLength's payload: baseOffset + batchLength. */
export const LOG_OVERHEAD = 12;
export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
const NO_PARTITION_LEADER_EPOCH = -1;

export const COMPRESSION_MASK = 0x07;
export const TRANSACTIONAL_FLAG = 0x10;
export const CONTROL_FLAG = 0x20;
/** Kafka's compression codec ids, for the error that refuses them. */
const COMPRESSION_CODECS = ["none", "gzip", "snappy", "lz4", "zstd"];

const OFF_BASE_OFFSET = 0;
const OFF_LENGTH = 8;
const OFF_LEADER_EPOCH = 12;
const OFF_MAGIC = 16;
const OFF_CRC = 17;
const OFF_ATTRIBUTES = 21;
const OFF_LAST_OFFSET_DELTA = 23;
const OFF_BASE_TIMESTAMP = 27;
const OFF_MAX_TIMESTAMP = 35;
const OFF_PRODUCER_ID = 43;
const OFF_PRODUCER_EPOCH = 51;
const OFF_BASE_SEQUENCE = 53;
const OFF_RECORD_COUNT = 57;
/** Magic 1 has no partitionLeaderEpoch: its fields from magic to maxTimestamp sit 4 bytes earlier. */
const LEGACY_SHIFT = 4;
const LEGACY_OFF_RECORD_COUNT = 39;
/** A record's bytes after its length with empty key, value and no headers. */
const MIN_RECORD_BODY = 6;

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

/** Whether the batch at `p` is Tributary's earlier format, magic 1 (see the grammar). */
function isLegacy(buf: Buffer, p: number): boolean {
  return buf[p + OFF_LEADER_EPOCH] === LEGACY_MAGIC;
}

/** The format version of the batch at `p` of `buf`: 2, 1 (legacy), or whatever byte 16 holds. */
export function batchMagic(buf: Buffer, p: number): number {
  return isLegacy(buf, p) ? LEGACY_MAGIC : buf.readInt8(p + OFF_MAGIC);
}

/** Header size of the batch at `p` by its format. */
export function batchHeaderSize(buf: Buffer, p: number): number {
  return isLegacy(buf, p) ? LEGACY_BATCH_HEADER_SIZE : BATCH_HEADER_SIZE;
}

export function batchLastOffsetDelta(buf: Buffer, p: number): number {
  return buf.readInt32BE(p + OFF_LAST_OFFSET_DELTA - (isLegacy(buf, p) ? LEGACY_SHIFT : 0));
}

export function batchMaxTimestamp(buf: Buffer, p: number): number {
  return readInt64(buf, p + OFF_MAX_TIMESTAMP - (isLegacy(buf, p) ? LEGACY_SHIFT : 0));
}

export function batchRecordCount(buf: Buffer, p: number): number {
  return buf.readInt32BE(p + (isLegacy(buf, p) ? LEGACY_OFF_RECORD_COUNT : OFF_RECORD_COUNT));
}

/** The offset after the batch at `p` of `buf`. */
export function batchEndOffset(buf: Buffer, p: number): number {
  return readInt64(buf, p) + batchLastOffsetDelta(buf, p) + 1;
}

/** The CRC stored in, and the CRC computed over, the batch at `p` of `buf` (whole in `buf`). */
function crcs(buf: Buffer, p: number): { stored: number; actual: number } {
  const shift = isLegacy(buf, p) ? LEGACY_SHIFT : 0;
  const end = p + LOG_OVERHEAD + buf.readInt32BE(p + OFF_LENGTH);
  return {
    stored: buf.readUInt32BE(p + OFF_CRC - shift),
    actual: crc32c(buf.subarray(p + OFF_ATTRIBUTES - shift, end)),
  };
}

/** The name of compression codec `id` (attribute bits 0-2), for errors. */
export function compressionName(id: number): string {
  return COMPRESSION_CODECS[id] ?? `unknown codec ${id}`;
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
  /** The idempotent producer's id, epoch and first sequence; default none (-1). */
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Attribute bits beyond compression (TRANSACTIONAL_FLAG, CONTROL_FLAG); default 0. */
  attributes?: number;
}

/** Per-record body sizes between the two passes of encodeBatch; grown as needed, never shrunk. */
let bodySizes = new Int32Array(1024);

function headerBytes(v: Buffer | string): number {
  return typeof v === "string" ? Buffer.byteLength(v) : v.length;
}

/** The bytes a record's headers take in a v2 batch, their count included (less its 1-byte minimum). */
export function headersSize(headers: RecordHeaders): number {
  let size = 0;
  let count = 0;
  for (const k in headers) {
    const kl = Buffer.byteLength(k);
    const vl = headerBytes(headers[k]!);
    size += sizeOfLength(kl) + kl + sizeOfLength(vl) + vl;
    count++;
  }
  return size + sizeOfLength(count) - 1;
}

/** Encodes records into one batch, in one allocation. */
export function encodeBatch(
  records: readonly ProducerRecord[],
  options: EncodeOptions = {},
): Buffer {
  const n = records.length;
  if (n === 0) throw new RangeError("a record batch needs at least one record");
  const now = options.now ?? Date.now();
  const deltas = options.offsetDeltas;
  const baseTs = records[0]!.timestamp ?? now;
  let maxTs = baseTs;
  if (bodySizes.length < n) bodySizes = new Int32Array(Math.max(n, bodySizes.length * 2));
  // Pass 1: each record's size, for its length prefix and the one allocation.
  let size = BATCH_HEADER_SIZE;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const ts = r.timestamp ?? now;
    if (ts > maxTs) maxTs = ts;
    const key = r.key;
    const value = r.value;
    // attributes + headerCount (1 byte for none; headersSize adds the rest).
    let body =
      2 +
      sizeOfVarlong(ts - baseTs) +
      (deltas ? sizeOfVarint(deltas[i]!) : sizeOfLength(i)) +
      (key ? sizeOfLength(key.length) + key.length : 1) +
      (value ? sizeOfLength(value.length) + value.length : 1);
    if (r.headers !== undefined) body += headersSize(r.headers);
    bodySizes[i] = body;
    size += sizeOfLength(body) + body;
  }
  const buf = Buffer.allocUnsafe(size);
  // DataView accessors are several times faster than Buffer's writeInt32BE family on
  // Node 20 (measured: 94 M vs 15 M reads/s).
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // Pass 2: the records.
  let pos = BATCH_HEADER_SIZE;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    pos = writeLength(buf, pos, bodySizes[i]!);
    buf[pos++] = 0;
    pos = writeVarlong(buf, pos, (r.timestamp ?? now) - baseTs);
    pos = deltas ? writeVarint(buf, pos, deltas[i]!) : writeLength(buf, pos, i);
    const key = r.key;
    if (key) {
      pos = writeLength(buf, pos, key.length);
      buf.set(key, pos);
      pos += key.length;
    } else {
      buf[pos++] = 1; // zigzag(-1)
    }
    const value = r.value;
    if (value) {
      pos = writeLength(buf, pos, value.length);
      buf.set(value, pos);
      pos += value.length;
    } else {
      buf[pos++] = 1;
    }
    const headers = r.headers;
    if (headers === undefined) buf[pos++] = 0;
    else pos = writeHeaders(buf, pos, headers);
  }
  writeInt64(buf, options.baseOffset ?? 0, OFF_BASE_OFFSET);
  dv.setInt32(OFF_LENGTH, size - LOG_OVERHEAD);
  dv.setInt32(OFF_LEADER_EPOCH, NO_PARTITION_LEADER_EPOCH);
  dv.setInt8(OFF_MAGIC, MAGIC);
  dv.setInt16(OFF_ATTRIBUTES, options.attributes ?? 0);
  dv.setInt32(OFF_LAST_OFFSET_DELTA, options.lastOffsetDelta ?? (deltas ? deltas[n - 1]! : n - 1));
  writeInt64(buf, baseTs, OFF_BASE_TIMESTAMP);
  writeInt64(buf, maxTs, OFF_MAX_TIMESTAMP);
  writeInt64(buf, options.producerId ?? NO_PRODUCER_ID, OFF_PRODUCER_ID);
  dv.setInt16(OFF_PRODUCER_EPOCH, options.producerEpoch ?? NO_PRODUCER_EPOCH);
  dv.setInt32(OFF_BASE_SEQUENCE, options.baseSequence ?? NO_SEQUENCE);
  dv.setInt32(OFF_RECORD_COUNT, n);
  dv.setUint32(OFF_CRC, crc32c(buf.subarray(OFF_ATTRIBUTES)));
  return buf;
}

function writeHeaders(buf: Buffer, pos: number, headers: RecordHeaders): number {
  let count = 0;
  for (const _ in headers) count++;
  pos = writeLength(buf, pos, count);
  for (const k in headers) {
    pos = writeLength(buf, pos, Buffer.byteLength(k));
    pos += buf.write(k, pos);
    const v = headers[k]!;
    pos = writeLength(buf, pos, headerBytes(v));
    if (typeof v === "string") {
      pos += buf.write(v, pos);
    } else {
      buf.set(v, pos);
      pos += v.length;
    }
  }
  return pos;
}

/**
 * Encodes records that already have offsets (compaction, copying), keeping them, and the
 * producer fields of the batch they came from (`from`), as Kafka's cleaner does: the
 * producer-state rebuild reads them.
 */
export function encodeBatchAt(
  records: readonly LogRecord[],
  baseOffset: number,
  lastOffsetDelta: number,
  from?: Pick<RecordBatch, "producerId" | "producerEpoch" | "baseSequence">,
): Buffer {
  return encodeBatch(records, {
    baseOffset,
    lastOffsetDelta,
    offsetDeltas: records.map((r) => r.offset - baseOffset),
    ...(from === undefined
      ? {}
      : {
          producerId: from.producerId,
          producerEpoch: from.producerEpoch,
          baseSequence: from.baseSequence,
        }),
  });
}

/** Stamps the base offset of a batch in place (outside the CRC, so no recompute). */
export function setBaseOffset(buf: Buffer, batchPosition: number, baseOffset: number): void {
  writeInt64(buf, baseOffset, batchPosition + OFF_BASE_OFFSET);
}

/**
 * A view of one batch inside a larger buffer (a fetched chunk or a segment read), of
 * either format. Reading header fields costs nothing; records are decoded only when asked for.
 */
export class RecordBatch {
  constructor(
    readonly buffer: Buffer,
    readonly position = 0,
  ) {}

  private get legacy(): boolean {
    return isLegacy(this.buffer, this.position);
  }
  /** Where magic 1 has a v2 field from magic to maxTimestamp: 4 bytes earlier. */
  private at(v2Offset: number): number {
    return this.position + v2Offset - (this.legacy ? LEGACY_SHIFT : 0);
  }

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
    return batchMagic(this.buffer, this.position);
  }
  get partitionLeaderEpoch(): number {
    return this.legacy
      ? NO_PARTITION_LEADER_EPOCH
      : this.buffer.readInt32BE(this.position + OFF_LEADER_EPOCH);
  }
  get crc(): number {
    return this.buffer.readUInt32BE(this.at(OFF_CRC));
  }
  get attributes(): number {
    return this.buffer.readInt16BE(this.at(OFF_ATTRIBUTES));
  }
  /** Compression codec id (attribute bits 0-2); only 0, none, is readable. */
  get compression(): number {
    return this.attributes & COMPRESSION_MASK;
  }
  get isTransactional(): boolean {
    return (this.attributes & TRANSACTIONAL_FLAG) !== 0;
  }
  get isControl(): boolean {
    return (this.attributes & CONTROL_FLAG) !== 0;
  }
  get lastOffsetDelta(): number {
    return this.buffer.readInt32BE(this.at(OFF_LAST_OFFSET_DELTA));
  }
  get lastOffset(): number {
    return this.baseOffset + this.lastOffsetDelta;
  }
  /** The offset after this batch. */
  get nextOffset(): number {
    return this.lastOffset + 1;
  }
  get baseTimestamp(): number {
    return readInt64(this.buffer, this.at(OFF_BASE_TIMESTAMP));
  }
  get maxTimestamp(): number {
    return readInt64(this.buffer, this.at(OFF_MAX_TIMESTAMP));
  }
  get producerId(): number {
    return this.legacy ? NO_PRODUCER_ID : readInt64(this.buffer, this.position + OFF_PRODUCER_ID);
  }
  get producerEpoch(): number {
    return this.legacy
      ? NO_PRODUCER_EPOCH
      : this.buffer.readInt16BE(this.position + OFF_PRODUCER_EPOCH);
  }
  get baseSequence(): number {
    return this.legacy ? NO_SEQUENCE : this.buffer.readInt32BE(this.position + OFF_BASE_SEQUENCE);
  }
  get recordCount(): number {
    return batchRecordCount(this.buffer, this.position);
  }
  /** The batch's bytes, sharing memory with the underlying buffer. */
  bytes(): Buffer {
    return this.buffer.subarray(this.position, this.position + this.sizeInBytes);
  }

  computeCrc(): number {
    return crcs(this.buffer, this.position).actual;
  }

  isValid(): boolean {
    const m = this.magic;
    return (m === MAGIC || m === LEGACY_MAGIC) && this.computeCrc() === this.crc;
  }

  /** Throws a CorruptRecordError naming `where` when the CRC or version is wrong. */
  verify(where = "record batch"): void {
    const m = this.magic;
    if (m !== MAGIC && m !== LEGACY_MAGIC) {
      throw new CorruptRecordError(
        `${where}: batch at offset ${this.baseOffset} has format version ${m}, expected ${MAGIC} (or ${LEGACY_MAGIC}, written before Tributary used Kafka's format)`,
        { offset: this.baseOffset },
      );
    }
    const { stored, actual } = crcs(this.buffer, this.position);
    if (actual !== stored) {
      throw new CorruptRecordError(
        `${where}: CRC mismatch in batch at offset ${this.baseOffset} (stored ${stored}, computed ${actual}); the bytes are corrupt`,
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
    const end = this.position + this.sizeInBytes;
    const base = this.baseOffset;
    const count = this.recordCount;
    if (this.legacy) {
      forEachLegacyRecord(buf, this.position, end, base, count, fn, (i) => this.malformed(i));
      return;
    }
    const compression = this.compression;
    if (compression !== 0) {
      throw new UnsupportedCompressionError(
        `batch at offset ${base} is compressed with ${compressionName(compression)}, which Tributary does not read: produce it uncompressed`,
      );
    }
    // Buffer.from(arrayBuffer, offset, length) makes the same zero-copy view as subarray
    // at twice the speed on Node 20 (measured 23 M vs 12 M/s): it skips the clamping.
    const ab = buf.buffer;
    const abOffset = buf.byteOffset;
    const baseTs = this.baseTimestamp;
    let pos = this.position + BATCH_HEADER_SIZE;
    for (let i = 0; i < count; i++) {
      const length = readVarint(buf, pos);
      pos = varintEnd;
      const recordEnd = pos + length;
      if (length < MIN_RECORD_BODY || recordEnd > end) throw this.malformed(i);
      // pos + 1: the record's attributes, unused.
      const timestamp = baseTs + readVarlong(buf, pos + 1);
      const offset = base + readVarint(buf, varintEnd);
      const kl = readVarint(buf, varintEnd);
      let p = varintEnd;
      let key: Buffer | null = null;
      if (kl >= 0) {
        if (p + kl > recordEnd) throw this.malformed(i);
        key = Buffer.from(ab, abOffset + p, kl);
        p += kl;
      }
      const vl = readVarint(buf, p);
      p = varintEnd;
      let value: Buffer | null = null;
      if (vl >= 0) {
        if (p + vl > recordEnd) throw this.malformed(i);
        value = Buffer.from(ab, abOffset + p, vl);
        p += vl;
      }
      const hc = readVarint(buf, p);
      p = varintEnd;
      let headers: Record<string, Buffer> = NO_HEADERS;
      if (hc !== 0) {
        if (hc < 0) throw this.malformed(i);
        headers = {};
        for (let h = 0; h < hc; h++) {
          const hkl = readVarint(buf, p);
          p = varintEnd;
          if (hkl < 0 || p + hkl > recordEnd) throw this.malformed(i);
          const hk = buf.toString("utf8", p, p + hkl);
          p += hkl;
          const hvl = readVarint(buf, p);
          p = varintEnd;
          if (p + hvl > recordEnd) throw this.malformed(i);
          headers[hk] = hvl < 0 ? Buffer.alloc(0) : buf.subarray(p, p + hvl);
          if (hvl > 0) p += hvl;
        }
      }
      if (p !== recordEnd) throw this.malformed(i);
      fn({ offset, timestamp, key, value, headers });
      pos = recordEnd;
    }
  }

  private malformed(index: number): CorruptRecordError {
    return new CorruptRecordError(
      `record ${index} of the batch at offset ${this.baseOffset} overruns its batch or its declared length; the bytes are corrupt`,
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
    if (length < LEGACY_BATCH_HEADER_SIZE - LOG_OVERHEAD) {
      throw new CorruptRecordError(
        `batch at byte ${pos} declares length ${length}, below the header size`,
        { position: pos },
      );
    }
    if (pos + LOG_OVERHEAD + length > buf.length) break;
    if (length < batchHeaderSize(buf, pos) - LOG_OVERHEAD) {
      throw new CorruptRecordError(
        `batch at byte ${pos} declares length ${length}, below the header size`,
        { position: pos },
      );
    }
    batches.push(new RecordBatch(buf, pos));
    pos += LOG_OVERHEAD + length;
  }
  return { batches, bytesUsed: pos };
}
