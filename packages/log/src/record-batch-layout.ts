import { crc32c } from "@node-rs/crc32";
import { LEGACY_BATCH_HEADER_SIZE } from "./legacy-record-batch.js";

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
export const NO_PARTITION_LEADER_EPOCH = -1;

export const COMPRESSION_MASK = 0x07;
export const TRANSACTIONAL_FLAG = 0x10;
export const CONTROL_FLAG = 0x20;
/** Kafka's compression codec ids, for the error that refuses them. */
export const COMPRESSION_CODECS = ["none", "gzip", "snappy", "lz4", "zstd"];

export const OFF_BASE_OFFSET = 0;
export const OFF_LENGTH = 8;
export const OFF_LEADER_EPOCH = 12;
export const OFF_MAGIC = 16;
export const OFF_CRC = 17;
export const OFF_ATTRIBUTES = 21;
export const OFF_LAST_OFFSET_DELTA = 23;
export const OFF_BASE_TIMESTAMP = 27;
export const OFF_MAX_TIMESTAMP = 35;
export const OFF_PRODUCER_ID = 43;
export const OFF_PRODUCER_EPOCH = 51;
export const OFF_BASE_SEQUENCE = 53;
export const OFF_RECORD_COUNT = 57;
/** Magic 1 has no partitionLeaderEpoch: its fields from magic to maxTimestamp sit 4 bytes earlier. */
export const LEGACY_SHIFT = 4;
export const LEGACY_OFF_RECORD_COUNT = 39;

export const TWO_32 = 4294967296;

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
export function isLegacy(buf: Buffer, p: number): boolean {
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
export function crcs(buf: Buffer, p: number): { stored: number; actual: number } {
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

/** Stamps the base offset of a batch in place (outside the CRC, so no recompute). */
export function setBaseOffset(buf: Buffer, batchPosition: number, baseOffset: number): void {
  writeInt64(buf, baseOffset, batchPosition + OFF_BASE_OFFSET);
}
