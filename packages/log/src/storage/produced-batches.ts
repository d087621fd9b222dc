import {
  CorruptRecordError,
  InvalidArgumentError,
  RecordTooLargeError,
  UnsupportedCompressionError,
} from "../errors.js";
import { batchProblem } from "./batch-problem.js";
import {
  BATCH_HEADER_SIZE,
  batchLastOffsetDelta,
  batchRecordCount,
  COMPRESSION_MASK,
  CONTROL_FLAG,
  compressionName,
  LOG_OVERHEAD,
  RecordBatch,
  setBaseOffset,
} from "../record-batch.js";
import { MAX_MESSAGE_BYTES_LIMIT } from "../topic-config.js";

/**
 * Validates each batch in `buf` (one or more back to back, as a producer sends them):
 * format version, declared length equal to the bytes given, CRC, recordCount > 0,
 * lastOffsetDelta = recordCount - 1 (producer batches are gapless), no compression, no
 * control bit (markers come from the transaction coordinator only), size <=
 * `maxMessageBytes`. A bad batch throws before anything is changed. Then stamps the base
 * offsets in place, from `firstOffset` on (the caller's buffer is modified). `name` is the
 * partition's, for the errors.
 */
export function stampProducedBatches(
  buf: Buffer,
  firstOffset: number,
  maxMessageBytes: number,
  name: string,
  /** The transaction coordinator's markers (control batches); refused from producers. */
  control = false,
  /** False for a batch this process encoded (record-batch-encoded-here.ts): no CRC check. */
  checkCrc = true,
): void {
  const badBatch = (position: number, problem: string) =>
    new CorruptRecordError(
      `rejected append to ${name}: batch at byte ${position} of the request is invalid: ${problem}; encode batches with encodeBatch and send them unmodified`,
      { position },
    );
  if (buf.length === 0) {
    throw new InvalidArgumentError(
      `append to ${name} got an empty buffer: encode at least one record with encodeBatch`,
    );
  }
  let next = firstOffset;
  let p = 0;
  while (p < buf.length) {
    // Every whole batch of either format is at least BATCH_HEADER_SIZE bytes (a magic-1
    // header is smaller, but its smallest record is larger).
    if (p + BATCH_HEADER_SIZE > buf.length) {
      throw badBatch(p, `${buf.length - p} trailing bytes are too few for a batch header`);
    }
    const length = buf.readInt32BE(p + 8);
    const size = LOG_OVERHEAD + length;
    if (length < BATCH_HEADER_SIZE - LOG_OVERHEAD || p + size > buf.length) {
      throw badBatch(
        p,
        `declared batch length ${length} does not match the ${buf.length - p} bytes given`,
      );
    }
    if (size > maxMessageBytes) {
      throw new RecordTooLargeError(
        `a record batch of ${size} bytes for ${name} exceeds max.message.bytes=${maxMessageBytes}: send fewer records per batch, or raise the topic's max.message.bytes (at most ${MAX_MESSAGE_BYTES_LIMIT}, what one broker frame carries)`,
      );
    }
    const problem = batchProblem(buf, p, checkCrc);
    if (problem !== null) throw badBatch(p, problem);
    const attributes = new RecordBatch(buf, p).attributes;
    if ((attributes & COMPRESSION_MASK) !== 0) {
      throw new UnsupportedCompressionError(
        `rejected append to ${name}: the batch at byte ${p} of the request is compressed with ${compressionName(attributes & COMPRESSION_MASK)}; Tributary stores uncompressed batches only: produce without compression`,
      );
    }
    if ((attributes & CONTROL_FLAG) !== 0 && !control) {
      throw badBatch(
        p,
        `attributes ${attributes} mark a control batch: only the transaction coordinator writes markers (commit or abort the transaction instead)`,
      );
    }
    const lastDelta = batchLastOffsetDelta(buf, p);
    const count = batchRecordCount(buf, p);
    if (lastDelta !== count - 1) {
      throw badBatch(
        p,
        `last offset delta ${lastDelta} with ${count} records: a produced batch must be gapless`,
      );
    }
    setBaseOffset(buf, p, next);
    next += count;
    p += size;
  }
}
