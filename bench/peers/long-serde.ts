import type { Serde } from "@tributary/log";

/*
 * long format, Kafka's LongSerializer: the count as a big-endian two's-complement int64.
 *   value => int64
 * The Tributary topologies write their counts with it so that every system's output topic
 * holds the same bytes and one reader (results.ts) decodes them all.
 */
export const longSerde: Serde<number> = {
  name: "int64 (Kafka LongSerializer)",
  serialize(value) {
    if (value === null) return null;
    const out = Buffer.allocUnsafe(8);
    out.writeBigInt64BE(BigInt(value));
    return out;
  },
  deserialize(bytes) {
    if (bytes === null) return null as unknown as number;
    if (bytes.length !== 8) {
      throw new Error(`a long is 8 bytes, got ${bytes.length}: is this a count topic?`);
    }
    return Number(bytes.readBigInt64BE());
  },
};
