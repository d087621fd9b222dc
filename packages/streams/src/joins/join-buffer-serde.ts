import { SerdeDecodeError, SerdeEncodeError } from "@tributary/log";
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
      const v = inner.serialize(b.value) ?? EMPTY;
      const out = Buffer.allocUnsafe(4 + v.length);
      writeUint32(out, b.seq, 0);
      // TypedArray#set: Buffer#copy's argument checks cost more than copying ~100 bytes
      out.set(v, 4);
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
  if (!(Number.isSafeInteger(timestamp) && timestamp >= 0)) {
    // the join's window store refuses such a record before the pending store sees it
    throw new SerdeEncodeError(
      `a pending join record's timestamp must be whole ms >= 0 below 2^53, got ${timestamp}`,
    );
  }
  const out = Buffer.allocUnsafe(13 + key.length);
  // int64 as two words: no BigInt per record (timestamps are >= 0 and below 2^53)
  const high = Math.floor(timestamp / 0x1_0000_0000);
  writeUint32(out, high, 0);
  writeUint32(out, timestamp - high * 0x1_0000_0000, 4);
  out[8] = left ? 0 : 1;
  writeUint32(out, seq, 9);
  out.set(key, 13);
  return out;
}

export function decodePendingKey(bytes: Buffer): { timestamp: number; left: boolean; key: Buffer } {
  return {
    timestamp: bytes.readUInt32BE(0) * 0x1_0000_0000 + bytes.readUInt32BE(4),
    left: bytes[8] === 0,
    key: bytes.subarray(13),
  };
}

const EMPTY = Buffer.alloc(0);

/** Big-endian uint32 (n taken mod 2^32) without Buffer#writeUInt32BE's range checks. */
function writeUint32(out: Buffer, n: number, at: number): void {
  const u = n >>> 0;
  out[at] = u >>> 24;
  out[at + 1] = (u >>> 16) & 0xff;
  out[at + 2] = (u >>> 8) & 0xff;
  out[at + 3] = u & 0xff;
}
