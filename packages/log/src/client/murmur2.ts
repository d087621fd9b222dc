/**
 * MurmurHash2 exactly as Kafka's Java client computes it (org.apache.kafka.common.utils.
 * Utils.murmur2): seed 0x9747b28c, m 0x5bd1e995, r 24, little-endian 4-byte blocks, the
 * tail folded in with the same fall-through, and the same final mix. The result is the
 * signed 32-bit int Java returns, so a key partitions here as it does on Kafka and a
 * topology moves between the two without re-keying.
 *
 * Hashes `bytes[start, end)` so a key inside a larger buffer (a decoded batch) needs no
 * copy; `Math.imul` keeps every product in int32 as Java's `int *= m` does.
 */
export function murmur2(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const m = 0x5bd1e995;
  const length = end - start;
  let h = 0x9747b28c ^ length;
  const blocksEnd = start + (length & ~3);
  let i = start;
  for (; i < blocksEnd; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  // Java's switch falls through 3 -> 2 -> 1; TypeScript forbids that, so the same order
  // is spelled out.
  const tail = length & 3;
  if (tail !== 0) {
    if (tail === 3) h ^= bytes[i + 2]! << 16;
    if (tail >= 2) h ^= bytes[i + 1]! << 8;
    h ^= bytes[i]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which differs at MIN_VALUE). */
export function toPositive(h: number): number {
  return h & 0x7fffffff;
}
