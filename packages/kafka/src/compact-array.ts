import type { Reader } from "@platformatic/kafka";

/**
 * Reading the flexible versions' structures with the Kafka client's Reader, correctly.
 * The client's own `readTaggedFields` reads the tagged-field count as a signed varint and
 * then skips that many bytes, which misreads any response that carries tagged fields (a
 * Produce or Fetch answer naming a partition's new leader, KIP-951) and fails it with
 * OUT_OF_BOUNDS; so the parsers written here use these instead of its readArray.
 *
 *   TAG_BUFFER => count:UNSIGNED_VARINT [tag:UNSIGNED_VARINT size:UNSIGNED_VARINT data:bytes]
 *   COMPACT_ARRAY[T] => length+1:UNSIGNED_VARINT (0 = null) [T TAG_BUFFER]   (T a struct)
 */
export function skipTaggedFields(reader: Reader): void {
  const count = reader.readUnsignedVarInt();
  for (let i = 0; i < count; i++) {
    reader.readUnsignedVarInt();
    reader.skip(reader.readUnsignedVarInt());
  }
}

/** A COMPACT_ARRAY of structs, each followed by its TAG_BUFFER; null reads as null. */
export function readCompactArray<T>(reader: Reader, read: (reader: Reader) => T): T[] | null {
  const length = reader.readUnsignedVarInt() - 1;
  if (length < 0) return null;
  const out = new Array<T>(length);
  for (let i = 0; i < length; i++) {
    out[i] = read(reader);
    skipTaggedFields(reader);
  }
  return out;
}
