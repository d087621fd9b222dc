import type { RecordBatch } from "./record-batch.js";
import {
  MAGIC,
  BATCH_HEADER_SIZE,
  LOG_OVERHEAD,
  NO_PRODUCER_ID,
  NO_PRODUCER_EPOCH,
  NO_SEQUENCE,
  NO_PARTITION_LEADER_EPOCH,
  OFF_BASE_OFFSET,
  OFF_LENGTH,
  OFF_LEADER_EPOCH,
  OFF_MAGIC,
  OFF_CRC,
  OFF_ATTRIBUTES,
  OFF_LAST_OFFSET_DELTA,
  OFF_BASE_TIMESTAMP,
  OFF_MAX_TIMESTAMP,
  OFF_PRODUCER_ID,
  OFF_PRODUCER_EPOCH,
  OFF_BASE_SEQUENCE,
  OFF_RECORD_COUNT,
  writeInt64,
} from "./record-batch-layout.js";
import { crc32c } from "@node-rs/crc32";
import { type LogRecord, NO_HEADERS, type ProducerRecord, type RecordHeaders } from "./record.js";
import {
  sizeOfLength,
  sizeOfVarint,
  sizeOfVarlong,
  writeLength,
  writeVarint,
  writeVarlong,
} from "./varint.js";

/*
 * Encoding records into a RecordBatch v2 (the grammar is in record-batch-layout.ts): sizes
 * computed first, one buffer allocated, every field written once, the CRC last.
 */

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
    const headers = r.headers;
    if (headers !== undefined && headers !== NO_HEADERS) body += headersSize(headers);
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
    if (headers === undefined || headers === NO_HEADERS) buf[pos++] = 0;
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

export function writeHeaders(buf: Buffer, pos: number, headers: RecordHeaders): number {
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
