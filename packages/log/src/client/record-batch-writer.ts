import { headersSize, writeHeaders } from "../record-batch-encoder.js";
import { NO_HEADERS, type RecordHeaders } from "../record.js";
import { sizeOfLength, sizeOfVarlong, writeLength, writeVarlong } from "../varint.js";
import { RecordBatchBuilder } from "./record-batch-builder.js";

/**
 * A RecordBatchBuilder for whole records as a producer's callers have them: a null key or
 * value (a tombstone) and headers (a dead-letter record's error), which the builder's
 * byte-range `append` cannot express. The streams runtime's record collector serializes
 * each output straight into one of these per partition and hands the finished batches to
 * `Producer.sendEncoded`: no ProducerRecord kept per output, no second encoding pass.
 *
 *   Record => length:varint attributes:int8(0) timestampDelta:varlong offsetDelta:varint
 *             keyLength:varint(-1 for null) key valueLength:varint(-1 for null) value
 *             headerCount:varint [headerKeyLength:varint headerKey headerValueLength:varint headerValue]
 */
export class RecordBatchWriter extends RecordBatchBuilder {
  /**
   * Appends one record; false, appending nothing, when it would make the batch exceed its
   * capacity (then `finish()` this one and start another). A batch's first record is
   * always taken, whatever its size.
   */
  appendRecord(
    key: Uint8Array | null | undefined,
    value: Uint8Array | null | undefined,
    timestamp: number,
    headers: RecordHeaders | undefined,
  ): boolean {
    const first = this.n === 0;
    const base = first ? timestamp : this.baseTimestamp;
    const delta = timestamp - base;
    const plainHeaders = headers === undefined || headers === NO_HEADERS;
    // attributes + headerCount (1 byte for none; headersSize adds the rest)
    const body =
      2 +
      sizeOfVarlong(delta) +
      sizeOfLength(this.n) +
      (key ? sizeOfLength(key.length) + key.length : 1) +
      (value ? sizeOfLength(value.length) + value.length : 1) +
      (plainHeaders ? 0 : headersSize(headers));
    const end = this.pos + sizeOfLength(body) + body;
    if (end > this.capacity && !first) return false;
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
    if (key) {
      const kl = key.length;
      pos = writeLength(buf, pos, kl);
      // A short key is copied faster byte by byte than through TypedArray.set.
      if (kl > 24) buf.set(key, pos);
      else for (let i = 0; i < kl; i++) buf[pos + i] = key[i]!;
      pos += kl;
    } else buf[pos++] = 1; // zigzag(-1)
    if (value) {
      pos = writeLength(buf, pos, value.length);
      buf.set(value, pos);
      pos += value.length;
    } else buf[pos++] = 1;
    if (plainHeaders) buf[pos++] = 0;
    else pos = writeHeaders(buf, pos, headers);
    this.pos = pos;
    this.n++;
    return true;
  }
}
