import {
  batchHeaderSize,
  batchLastOffsetDelta,
  batchMagic,
  batchRecordCount,
  LEGACY_MAGIC,
  LOG_OVERHEAD,
  MAGIC,
  RecordBatch,
} from "../record-batch.js";

/**
 * What is wrong with the batch at `p` (whole in `buf`), or null: version, length, CRC,
 * record count, offsets. Both formats (record-batch.ts) are accepted. `checkCrc` false
 * skips the CRC only, for a batch whose CRC this process computed over these very bytes
 * (record-batch-encoded-here.ts).
 */
export function batchProblem(buf: Buffer, p: number, checkCrc = true): string | null {
  if (p + LOG_OVERHEAD + 5 > buf.length) return "a partial batch header";
  const magic = batchMagic(buf, p);
  if (magic !== MAGIC && magic !== LEGACY_MAGIC) {
    return `format version ${magic}, expected ${MAGIC} (or ${LEGACY_MAGIC})`;
  }
  const length = buf.readInt32BE(p + 8);
  const headerSize = batchHeaderSize(buf, p);
  if (length < headerSize - LOG_OVERHEAD || p + LOG_OVERHEAD + length > buf.length) {
    return `batch length ${length} does not hold a ${headerSize}-byte header`;
  }
  if (checkCrc) {
    const batch = new RecordBatch(buf, p);
    const stored = batch.crc;
    const actual = batch.computeCrc();
    if (stored !== actual) return `CRC mismatch (stored ${stored}, computed ${actual})`;
  }
  const count = batchRecordCount(buf, p);
  if (count <= 0) return `record count ${count}`;
  const lastDelta = batchLastOffsetDelta(buf, p);
  if (lastDelta < count - 1)
    return `last offset delta ${lastDelta} is below record count ${count} - 1`;
  return null;
}
