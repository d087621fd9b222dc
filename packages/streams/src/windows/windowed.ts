import { SerdeDecodeError } from "@tributary/log";
import { type Serde, Serdes } from "../serdes.js";

/** A window's bounds in ms. `end` is exclusive for time windows and inclusive for sliding
 * and session windows, as in Kafka Streams (TimeWindow vs SessionWindow). */
export interface Window {
  start: number;
  end: number;
}

/** The key of a windowed aggregate: the record key and the window it is for. */
export interface Windowed<K> {
  key: K;
  window: Window;
}

/*
 * windowed key format, how a Windowed<K> crosses a topic (Kafka's TimeWindowedSerializer
 * writes key and start; ours carries the end too, so session and sliding windows decode
 * without knowing the window size):
 *   WindowedKey => key:bytes start:int64 end:int64
 * The key takes every byte before the last 16.
 */
export function windowedSerde<K>(inner: Serde<K>): Serde<Windowed<K>> {
  // a string key is written straight into the output: no buffer of its own to copy
  const stringKey = (inner as Serde<unknown>) === Serdes.string();
  return {
    name: `windowed(${inner.name ?? "custom"})`,
    serialize(w) {
      if (w === null || w === undefined) return null;
      if (stringKey && typeof w.key === "string") {
        const n = Buffer.byteLength(w.key, "utf8");
        const out = Buffer.allocUnsafe(n + 16);
        out.write(w.key, 0, n, "utf8");
        writeInt64(out, w.window.start, n);
        writeInt64(out, w.window.end, n + 8);
        return out;
      }
      const k = inner.serialize(w.key) ?? Buffer.alloc(0);
      const out = Buffer.allocUnsafe(k.length + 16);
      k.copy(out, 0);
      writeInt64(out, w.window.start, k.length);
      writeInt64(out, w.window.end, k.length + 8);
      return out;
    },
    deserialize(bytes) {
      if (bytes === null) return null as unknown as Windowed<K>;
      if (bytes.length < 16) {
        throw new SerdeDecodeError(
          `a windowed key needs at least 16 bytes (start and end), got ${bytes.length}`,
          {},
        );
      }
      const n = bytes.length - 16;
      return {
        key: inner.deserialize(bytes.subarray(0, n)),
        window: {
          start: readInt64(bytes, n),
          end: readInt64(bytes, n + 8),
        },
      };
    },
  };
}

// int64 as two 32-bit halves: a BigInt per bound was an allocation per output record
const TWO_32 = 0x1_0000_0000;

function writeInt64(out: Buffer, v: number, at: number): void {
  const hi = Math.floor(v / TWO_32);
  out.writeInt32BE(hi, at);
  out.writeUInt32BE(v - hi * TWO_32, at + 4);
}

/** Exact for |v| <= 2^53 (every time in ms a Number holds), as Number(BigInt) was. */
function readInt64(bytes: Buffer, at: number): number {
  return bytes.readInt32BE(at) * TWO_32 + bytes.readUInt32BE(at + 4);
}

/** Stable text for a windowed key, e.g. in tests and logs: `key@[start,end)`. */
export function windowedKeyString(w: Windowed<unknown>): string {
  return `${String(w.key)}@[${w.window.start},${w.window.end})`;
}
