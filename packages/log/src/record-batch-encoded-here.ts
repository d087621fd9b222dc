/**
 * Batches this process's producer encoded and stamped itself, CRC last, into buffers no
 * caller holds. The embedded log appends them without computing their CRC again: it
 * would check bytes against a checksum computed over the same bytes a moment earlier in
 * the same memory. Batches from anywhere else (a broker's socket, `sendEncoded`'s caller,
 * a test) are never in the set and are checked in full; so is every batch on disk when
 * read. Weak: an appended batch is forgotten with its buffer.
 */
const encodedHere = new WeakSet<Buffer>();

/** Marks `batch` (stamped, CRC written, not to be changed again) as encoded here. */
export function markEncodedHere(batch: Buffer): Buffer {
  encodedHere.add(batch);
  return batch;
}

/** True for a batch `markEncodedHere` marked: its CRC is known to match its bytes. */
export function isEncodedHere(batch: Buffer): boolean {
  return encodedHere.has(batch);
}
