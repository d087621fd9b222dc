import type { RecordBatch } from "./record-batch.js";

/**
 * Decodes only what a store restore needs of each record: its offset, key and value (views
 * of the batch's bytes). It is RecordBatch's one record walk with headers skipped by each
 * record's length prefix and no record object made: in a restore those were most of the
 * decoding and a good part of the garbage. Bounds are checked as every decoder checks them.
 */
export function forEachKeyValue(
  batch: RecordBatch,
  fn: (offset: number, key: Buffer | null, value: Buffer | null) => void,
): void {
  batch.walk(false, fn);
}
