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

/**
 * Writes one partition's records straight into a RecordBatch v2 (grammar in
 * record-batch-layout.ts), for `Producer.sendEncoded`: a caller that produces keys and
 * values as bytes in a buffer of its own (a database snapshot) appends them here without a
 * Buffer or a record object per record, and without encodeBatch's second copy. Records
 * carry no headers; offset deltas run 0..n-1. `finish()` writes the header but not the
 * producer fields nor the CRC: `sendEncoded` stamps the producer's id, epoch and sequence
 * and then the CRC (stampProducer), so a batch's idempotence is the producer's, as for
 * `send`, and its CRC is computed once.
 *
 *   Record => length:varint attributes:int8(0) timestampDelta:varlong offsetDelta:varint
 *             keyLength:varint key valueLength:varint value headerCount:varint(0)
 */
export class RecordBatchBuilder {
  // protected: RecordBatchWriter appends records with nulls and headers into the same batch
  protected buf: Buffer;
  protected pos = BATCH_HEADER_SIZE;
  protected n = 0;
  protected baseTimestamp = 0;
  protected maxTimestamp = 0;

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
    if (this.n === 0) {
      this.baseTimestamp = timestamp;
      this.maxTimestamp = timestamp;
    } else if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    const keyLength = keyEnd - keyStart;
    const valueLength = valueEnd - valueStart;
    const delta = timestamp - this.baseTimestamp;
    const body =
      2 +
      sizeOfVarlong(delta) +
      sizeOfLength(this.n) +
      sizeOfLength(keyLength) +
      keyLength +
      sizeOfLength(valueLength) +
      valueLength;
    const end = this.pos + sizeOfLength(body) + body;
    if (end > this.capacity && this.n > 0) return false;
    if (end > this.buf.length) this.grow(end);
    const buf = this.buf;
    let pos = writeLength(buf, this.pos, body);
    buf[pos++] = 0;
    pos = writeVarlong(buf, pos, delta);
    pos = writeLength(buf, pos, this.n);
    pos = writeLength(buf, pos, keyLength);
    if (keyLength > 24) buf.set(key.subarray(keyStart, keyEnd), pos);
    // A short key is copied faster byte by byte than through a subarray and TypedArray.set.
    else for (let i = 0; i < keyLength; i++) buf[pos + i] = key[keyStart + i]!;
    pos += keyLength;
    pos = writeLength(buf, pos, valueLength);
    buf.set(value.subarray(valueStart, valueEnd), pos);
    pos += valueLength;
    buf[pos++] = 0;
    this.pos = pos;
    this.n++;
    return true;
  }

  /** The batch (at least one record appended), to be stamped by the producer. */
  finish(): Buffer {
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

  protected grow(needed: number): void {
    // Doubling up to the capacity; past it only for a first record bigger than that.
    const next = Buffer.allocUnsafe(Math.max(needed, Math.min(this.capacity, this.buf.length * 2)));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
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
