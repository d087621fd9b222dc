import { CorruptRecordError, UnsupportedCompressionError } from "./errors.js";
import { BATCH_HEADER_SIZE, compressionName, MAGIC, type RecordBatch } from "./record-batch.js";
import { readVarint, readVarlong, varintEnd } from "./varint.js";

/** A record's bytes after its length with empty key, value and no headers. */
const MIN_RECORD_BODY = 6;

/**
 * Decodes only what a store restore needs of each record: its offset, key and value (views
 * of the batch's bytes, as `RecordBatch.forEach` gives). Timestamps and headers are
 * skipped by the record's length prefix, and no record object is made: in a restore those
 * were most of the decoding and a good part of the garbage. Bounds are checked as
 * `forEach` checks them; batches in the legacy format go through `forEach`.
 */
export function forEachKeyValue(
  batch: RecordBatch,
  fn: (offset: number, key: Buffer | null, value: Buffer | null) => void,
): void {
  if (batch.magic !== MAGIC) {
    batch.forEach((r) => {
      fn(r.offset, r.key, r.value);
    });
    return;
  }
  const base = batch.baseOffset;
  if (batch.compression !== 0) {
    throw new UnsupportedCompressionError(
      `batch at offset ${base} is compressed with ${compressionName(batch.compression)}, which Tributary does not read: produce it uncompressed`,
    );
  }
  const buf = batch.buffer;
  const end = batch.position + batch.sizeInBytes;
  const count = batch.recordCount;
  // Buffer.from(arrayBuffer, offset, length): the zero-copy view forEach also uses.
  const ab = buf.buffer;
  const abOffset = buf.byteOffset;
  let pos = batch.position + BATCH_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    const length = readVarint(buf, pos);
    pos = varintEnd;
    const recordEnd = pos + length;
    if (length < MIN_RECORD_BODY || recordEnd > end) throw malformed(base, i);
    // pos + 1: the record's attributes; then the timestamp delta, read only to find its end.
    readVarlong(buf, pos + 1);
    const offset = base + readVarint(buf, varintEnd);
    const kl = readVarint(buf, varintEnd);
    let p = varintEnd;
    let key: Buffer | null = null;
    if (kl >= 0) {
      if (p + kl > recordEnd) throw malformed(base, i);
      key = Buffer.from(ab, abOffset + p, kl);
      p += kl;
    }
    const vl = readVarint(buf, p);
    p = varintEnd;
    let value: Buffer | null = null;
    if (vl >= 0) {
      if (p + vl > recordEnd) throw malformed(base, i);
      value = Buffer.from(ab, abOffset + p, vl);
      p += vl;
    }
    // The header count and headers follow, up to recordEnd: not needed here.
    if (p >= recordEnd) throw malformed(base, i);
    fn(offset, key, value);
    pos = recordEnd;
  }
}

function malformed(base: number, index: number): CorruptRecordError {
  return new CorruptRecordError(
    `record ${index} of the batch at offset ${base} overruns its batch or its declared length; the bytes are corrupt`,
    { offset: base },
  );
}
