import { SerdeDecodeError } from "@tributary/log";
import type { Serde } from "../serdes.js";

/** A record buffered by a stream-stream join, with the number it has in the pending store. */
export interface Buffered<V> {
  seq: number;
  value: V;
}

/*
 * join buffer value format:
 *   Buffered => seq:uint32 value:bytes
 */
export function bufferedSerde<V>(inner: Serde<V>): Serde<Buffered<V>> {
  return {
    name: `buffered(${inner.name ?? "custom"})`,
    serialize(b) {
      if (b === null || b === undefined) return null;
      const v = inner.serialize(b.value) ?? Buffer.alloc(0);
      const out = Buffer.allocUnsafe(4 + v.length);
      out.writeUInt32BE(b.seq >>> 0, 0);
      v.copy(out, 4);
      return out;
    },
    deserialize(bytes) {
      if (bytes === null) return null as unknown as Buffered<V>;
      if (bytes.length < 4) throw new SerdeDecodeError("truncated join buffer value", {});
      return { seq: bytes.readUInt32BE(0), value: inner.deserialize(bytes.subarray(4)) };
    },
  };
}

/*
 * pending (not yet matched) record key in the outer-join store, in time order:
 *   PendingKey => timestamp:int64 side:uint8 (0 left, 1 right) seq:uint32 key:bytes
 */
export function pendingKey(timestamp: number, left: boolean, seq: number, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(13 + key.length);
  out.writeBigInt64BE(BigInt(timestamp), 0);
  out[8] = left ? 0 : 1;
  out.writeUInt32BE(seq >>> 0, 9);
  key.copy(out, 13);
  return out;
}

export function decodePendingKey(bytes: Buffer): { timestamp: number; left: boolean; key: Buffer } {
  return {
    timestamp: Number(bytes.readBigInt64BE(0)),
    left: bytes[8] === 0,
    key: bytes.subarray(13),
  };
}
