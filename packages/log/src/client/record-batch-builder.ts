import { crc32c } from "@node-rs/crc32";
import {
  BATCH_HEADER_SIZE,
  LOG_OVERHEAD,
  MAGIC,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  OFF_ATTRIBUTES,
  OFF_BASE_OFFSET,
  OFF_BASE_SEQUENCE,
  OFF_BASE_TIMESTAMP,
  OFF_CRC,
  OFF_LAST_OFFSET_DELTA,
  OFF_LENGTH,
  OFF_LEADER_EPOCH,
  OFF_MAGIC,
  OFF_MAX_TIMESTAMP,
  OFF_PRODUCER_EPOCH,
  OFF_PRODUCER_ID,
  OFF_RECORD_COUNT,
  writeInt64,
} from "../record-batch-layout.js";
import { InvalidArgumentError } from "../errors.js";
import { sizeOfLength, sizeOfVarlong, writeLength, writeVarlong } from "../varint.js";
import { NO_HEADERS, type ProducerRecord, type RecordHeaders } from "../record.js";
import { headersSize, writeHeaders } from "../record-batch-encoder.js";
import { markBuiltHere } from "../record-batch-encoded-here.js";

/**
 * Writes one partition's records straight into a RecordBatch v2 (grammar in
 * record-batch-layout.ts), for `Producer.sendEncoded`: a caller that produces keys and
 * values as bytes in a buffer of its own (a database snapshot) appends them here without a
 * Buffer or a record object per record, and without encodeBatch's second copy; and for
 * `send`, which appends each `ProducerRecord` into its partition's batch as it partitions
 * (`appendRecord`, as Kafka's RecordAccumulator appends into a MemoryRecords builder).
 * Records from `append` carry no headers; offset deltas run 0..n-1. `finish()` writes the
 * header but not the producer fields nor the CRC: the producer stamps the producer's id,
 * epoch and sequence and then the CRC (stampProducer), so a batch's idempotence is the
 * producer's and its CRC is computed once.
 *
 *   Record => length:varint attributes:int8(0) timestampDelta:varlong offsetDelta:varint
 *             keyLength:varint key valueLength:varint value headerCount:varint(0)
 *             (appendRecord: keyLength -1 for a null key, valueLength -1 for a null value,
 *             and the record's headers)
 */
export class RecordBatchBuilder {
  private buf: Buffer;
  private pos = BATCH_HEADER_SIZE;
  private n = 0;
  private baseTimestamp = 0;
  private maxTimestamp = 0;
  /** In-place appends: the last record's bytes before its key, and its value length's. */
  private lastHead = 6;
  private lastValueLengthBytes = 2;

  /**
   * `capacity`: the batch's bytes at most (a record that would not fit is refused);
   * `initialBytes`: the buffer to start with (it doubles up to the capacity as needed: a
   * caller that will fill the batch saves the copies by starting at the capacity).
   */
  constructor(
    protected readonly capacity: number,
    initialBytes = Math.min(capacity, 64 * 1024),
  ) {
    if (capacity <= BATCH_HEADER_SIZE) {
      throw new InvalidArgumentError(`a batch of ${capacity} bytes cannot hold a record`);
    }
    this.buf = Buffer.allocUnsafe(Math.max(BATCH_HEADER_SIZE, initialBytes));
  }

  get count(): number {
    return this.n;
  }

  get bytes(): number {
    return this.pos;
  }

  /**
   * Appends the record whose key is `key[keyStart, keyEnd)` and value `value[valueStart,
   * valueEnd)`; false, appending nothing, when it would make the batch exceed its
   * capacity (then `finish()` this one and start another). A batch's first record is
   * always taken, whatever its size.
   */
  append(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
    timestamp: number,
  ): boolean {
    const keyLength = keyEnd - keyStart;
    const valueLength = valueEnd - valueStart;
    const body = sizeOfLength(keyLength) + keyLength + sizeOfLength(valueLength) + valueLength;
    let pos = this.begin(body, timestamp);
    if (pos < 0) return false;
    const buf = this.buf;
    pos = writeLength(buf, pos, keyLength);
    pos = copyKey(buf, pos, key, keyStart, keyEnd);
    pos = writeLength(buf, pos, valueLength);
    buf.set(value.subarray(valueStart, valueEnd), pos);
    pos += valueLength;
    buf[pos++] = 0;
    this.pos = pos;
    return true;
  }

  /**
   * Appends a `ProducerRecord` as `encodeBatch` writes it (null key or value, headers):
   * `send`'s records go into their partition's batch as they are partitioned, without a
   * second pass over them. False, appending nothing, as `append`.
   */
  appendRecord(record: ProducerRecord, timestamp: number): boolean {
    return this.appendParts(record.key, record.value, timestamp, record.headers);
  }

  /**
   * `appendRecord` for a record's parts as its caller holds them (the streams collector's
   * serialized key and value, no ProducerRecord made per output): null key or value
   * (a tombstone) and headers (a dead-letter record's error).
   */
  appendParts(
    key: Uint8Array | null | undefined,
    value: Uint8Array | null | undefined,
    timestamp: number,
    headers: RecordHeaders | undefined,
  ): boolean {
    const hasHeaders = headers !== undefined && headers !== NO_HEADERS;
    const body =
      (key ? sizeOfLength(key.length) + key.length : 1) +
      (value ? sizeOfLength(value.length) + value.length : 1) +
      (hasHeaders ? headersSize(headers) : 0);
    let pos = this.begin(body, timestamp);
    if (pos < 0) return false;
    const buf = this.buf;
    if (key) {
      pos = writeLength(buf, pos, key.length);
      pos = copyKey(buf, pos, key, 0, key.length);
    } else buf[pos++] = 1; // zigzag(-1): null
    if (value) {
      pos = writeLength(buf, pos, value.length);
      buf.set(value, pos);
      pos += value.length;
    } else buf[pos++] = 1;
    if (hasHeaders) pos = writeHeaders(buf, pos, headers);
    else buf[pos++] = 0;
    this.pos = pos;
    return true;
  }

  /**
   * Starts a record whose key, value and headers take `fields` bytes: checks the capacity,
   * writes the length, attributes, timestamp and offset deltas, and counts the record.
   * Returns where the key's length goes, or -1 when the record does not fit (nothing
   * changed, so a refused record leaves the batch's timestamps as they were).
   */
  private begin(fields: number, timestamp: number): number {
    const first = this.n === 0;
    const delta = first ? 0 : timestamp - this.baseTimestamp;
    // attributes + headerCount's first byte + the deltas + the fields.
    const body = 2 + sizeOfVarlong(delta) + sizeOfLength(this.n) + fields;
    const end = this.pos + sizeOfLength(body) + body;
    if (end > this.capacity && !first) return -1;
    if (end > this.buf.length) this.grow(end);
    if (first) {
      this.baseTimestamp = timestamp;
      this.maxTimestamp = timestamp;
    } else if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    const buf = this.buf;
    let pos = writeLength(buf, this.pos, body);
    buf[pos++] = 0;
    pos = writeVarlong(buf, pos, delta);
    pos = writeLength(buf, pos, this.n);
    this.n++;
    return pos;
  }

  /**
   * In-place appends, for a caller that writes a record's key and value straight into
   * this batch's buffer rather than into a buffer of its own to be copied from:
   *
   *   const at = b.inPlaceKeyAt; // write the key at buffer[at…), skip b.inPlaceGap bytes,
   *   // write the value; then:
   *   b.commitInPlace(keyStart, keyEnd, valueStart, valueEnd, timestamp);
   *
   * The offsets guess the record's varint sizes from the record before; when a guess is
   * wrong, commitInPlace moves the key and value into place (rare for similar records).
   * Nothing may be written into `buffer` before `inPlaceKeyAt` (it holds the records).
   */
  get buffer(): Buffer {
    return this.buf;
  }

  /** Where to write an in-place record's key. */
  get inPlaceKeyAt(): number {
    return this.pos + this.lastHead;
  }

  /** Bytes to leave free between an in-place record's key and its value. */
  get inPlaceGap(): number {
    return this.lastValueLengthBytes;
  }

  /**
   * Appends the record whose key is `buffer[keyStart, keyEnd)` and value `buffer[valueStart,
   * valueEnd)`, written there by the caller (keyStart ≥ inPlaceKeyAt, keyEnd ≤ valueStart);
   * false, appending nothing, when it would make the batch exceed its capacity (as
   * `append`; the caller then appends its bytes to a new batch). The record's bytes equal
   * those `append` writes.
   */
  commitInPlace(
    keyStart: number,
    keyEnd: number,
    valueStart: number,
    valueEnd: number,
    timestamp: number,
  ): boolean {
    const n = this.n;
    const keyLength = keyEnd - keyStart;
    const valueLength = valueEnd - valueStart;
    const delta = n === 0 ? 0 : timestamp - this.baseTimestamp;
    const valueLengthBytes = sizeOfLength(valueLength);
    const beforeKey = 1 + sizeOfVarlong(delta) + sizeOfLength(n) + sizeOfLength(keyLength);
    const body = 1 + beforeKey + keyLength + valueLengthBytes + valueLength;
    const head = sizeOfLength(body) + beforeKey;
    const end = this.pos + head - beforeKey + body;
    if (end > this.capacity && n > 0) return false;
    if (end > this.buf.length) this.grow(end, Math.max(this.pos, valueEnd));
    const buf = this.buf;
    const keyAt = this.pos + head;
    const valueAt = keyAt + keyLength + valueLengthBytes;
    // Moved so that neither overwrites the other before it has moved.
    if (valueAt > valueStart) buf.copyWithin(valueAt, valueStart, valueEnd);
    if (keyAt !== keyStart) buf.copyWithin(keyAt, keyStart, keyEnd);
    if (valueAt < valueStart) buf.copyWithin(valueAt, valueStart, valueEnd);
    let pos = writeLength(buf, this.pos, body);
    buf[pos++] = 0;
    pos = writeVarlong(buf, pos, delta);
    pos = writeLength(buf, pos, n);
    writeLength(buf, pos, keyLength);
    writeLength(buf, keyAt + keyLength, valueLength);
    buf[end - 1] = 0;
    if (n === 0) {
      this.baseTimestamp = timestamp;
      this.maxTimestamp = timestamp;
    } else if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    this.lastHead = head;
    this.lastValueLengthBytes = valueLengthBytes;
    this.pos = end;
    this.n = n + 1;
    return true;
  }

  /**
   * The batch (at least one record appended), to be stamped by the producer. Handed to
   * `sendEncoded`, it is the producer's: the caller writes to it no more (the embedded log
   * then skips the CRC check of the stamped batch, record-batch-encoded-here.ts).
   */
  finish(): Buffer {
    return markBuiltHere(this.finishUnmarked());
  }

  /**
   * `finish()` for the producer's own `send` (encode-send.ts), whose batches nobody else
   * ever holds and are marked encoded here once stamped: one WeakSet entry per batch, not two.
   */
  finishUnmarked(): Buffer {
    if (this.n === 0) throw new RangeError("a record batch needs at least one record");
    const buf = this.buf.subarray(0, this.pos);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    writeInt64(buf, 0, OFF_BASE_OFFSET);
    dv.setInt32(OFF_LENGTH, buf.length - LOG_OVERHEAD);
    dv.setInt32(OFF_LEADER_EPOCH, NO_PARTITION_LEADER_EPOCH);
    dv.setInt8(OFF_MAGIC, MAGIC);
    dv.setInt32(OFF_LAST_OFFSET_DELTA, this.n - 1);
    writeInt64(buf, this.baseTimestamp, OFF_BASE_TIMESTAMP);
    writeInt64(buf, this.maxTimestamp, OFF_MAX_TIMESTAMP);
    dv.setInt32(OFF_RECORD_COUNT, this.n);
    return buf;
  }

  /** A bigger buffer, keeping its bytes up to `keep` (the records, or more: see commitInPlace). */
  private grow(needed: number, keep = this.pos): void {
    // Doubling up to the capacity; past it only for a first record bigger than that.
    const next = Buffer.allocUnsafe(Math.max(needed, Math.min(this.capacity, this.buf.length * 2)));
    this.buf.copy(next, 0, 0, keep);
    this.buf = next;
  }
}

/** Copies a key; a short one faster byte by byte than through a subarray and TypedArray.set. */
function copyKey(buf: Buffer, pos: number, key: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length > 24) buf.set(key.subarray(start, end), pos);
  else for (let i = 0; i < length; i++) buf[pos + i] = key[start + i]!;
  return pos + length;
}

/**
 * Writes a batch's producer fields and attributes (transactional or not) and its CRC,
 * which covers them: what encodeBatch writes from its options, for a batch encoded before
 * its producer knew its sequence.
 */
export function stampProducer(
  batch: Buffer,
  producer: {
    producerId: number;
    producerEpoch: number;
    baseSequence: number;
    attributes?: number;
  } | null,
): void {
  const dv = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  dv.setInt16(OFF_ATTRIBUTES, producer?.attributes ?? 0);
  writeInt64(batch, producer?.producerId ?? NO_PRODUCER_ID, OFF_PRODUCER_ID);
  dv.setInt16(OFF_PRODUCER_EPOCH, producer?.producerEpoch ?? NO_PRODUCER_EPOCH);
  dv.setInt32(OFF_BASE_SEQUENCE, producer?.baseSequence ?? NO_SEQUENCE);
  dv.setUint32(OFF_CRC, crc32c(batch.subarray(OFF_ATTRIBUTES)));
}
