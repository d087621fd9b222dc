import { MAGIC, RecordBatch } from "../record-batch.js";

/** Field positions inside a stored batch (see the grammar in record-batch.ts). */
const OFF_MAGIC = 12;
const OFF_LAST_OFFSET_DELTA = 19;
const OFF_RECORD_COUNT = 39;

/** What is wrong with the batch at `p`, or null: version, CRC, record count, offsets. */
export function batchProblem(buf: Buffer, p: number): string | null {
  const magic = buf.readInt8(p + OFF_MAGIC);
  if (magic !== MAGIC) return `format version ${magic}, expected ${MAGIC}`;
  const batch = new RecordBatch(buf, p);
  const stored = batch.crc;
  const actual = batch.computeCrc();
  if (stored !== actual) return `CRC mismatch (stored ${stored}, computed ${actual})`;
  const count = buf.readInt32BE(p + OFF_RECORD_COUNT);
  if (count <= 0) return `record count ${count}`;
  const lastDelta = buf.readInt32BE(p + OFF_LAST_OFFSET_DELTA);
  if (lastDelta < count - 1)
    return `last offset delta ${lastDelta} is below record count ${count} - 1`;
  return null;
}
