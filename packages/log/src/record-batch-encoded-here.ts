/**
 * Batches this process's producer encoded and stamped itself, CRC last, into buffers no
 * caller holds. The embedded log appends them without computing their CRC again: it
 * would check bytes against a checksum computed over the same bytes a moment earlier in
 * the same memory. Batches from anywhere else (a broker's socket, a test, any buffer not
 * made by a RecordBatchBuilder here) are never in the set and are checked in full; so is
 * every batch on disk when read. Weak: an appended batch is forgotten with its buffer.
 */
const encodedHere = new WeakSet<Buffer>();

/**
 * Batches a RecordBatchBuilder of this process finished: their bytes were written here
 * and their CRC is not written yet (the producer's stamp writes it). `sendEncoded` takes
 * these over (the caller hands the buffer to the producer and does not write to it
 * again), stamps them and marks them encoded here; anything else it is given is checked
 * on append as before.
 */
const builtHere = new WeakSet<Buffer>();

/** Marks `batch` (stamped, CRC written, not to be changed again) as encoded here. */
export function markEncodedHere(batch: Buffer): Buffer {
  encodedHere.add(batch);
  return batch;
}

/** True for a batch `markEncodedHere` marked: its CRC is known to match its bytes. */
export function isEncodedHere(batch: Buffer): boolean {
  return encodedHere.has(batch);
}

/** Marks `batch` as the bytes RecordBatchBuilder.finish() returned. */
export function markBuiltHere(batch: Buffer): Buffer {
  builtHere.add(batch);
  return batch;
}

/** True for a batch RecordBatchBuilder.finish() returned (the very Buffer, not a copy). */
export function isBuiltHere(batch: Buffer): boolean {
  return builtHere.has(batch);
}
