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
  // an ASCII string key is written straight into the output: no buffer of its own to copy
  const stringKey = (inner as Serde<unknown>) === Serdes.string();
  return {
    name: `windowed(${inner.name ?? "custom"})`,
    serialize(w) {
      if (w === null || w === undefined) return null;
      if (stringKey && typeof w.key === "string") {
        const out = asciiKeyed(w.key);
        if (out !== null) {
          writeInt64(out, w.window.start, w.key.length);
          writeInt64(out, w.window.end, w.key.length + 8);
          return out;
        }
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

/** A buffer of the key's bytes and 16 to fill, if the key is ASCII (its UTF-8 is its
 * char codes); else null. Written byte by byte: Buffer.write's argument handling cost more
 * than the copy for keys of a few bytes. */
function asciiKeyed(key: string): Buffer | null {
  const out = Buffer.allocUnsafe(key.length + 16);
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return null;
    out[i] = c;
  }
  return out;
}

// int64 as two 32-bit halves, byte by byte: a BigInt per bound was an allocation per
// output record. hi >>> n reads hi as two's complement, so negative times are written right.
const TWO_32 = 0x1_0000_0000;

function writeInt64(out: Buffer, v: number, at: number): void {
  const hi = Math.floor(v / TWO_32);
  const lo = v - hi * TWO_32;
  out[at] = hi >>> 24;
  out[at + 1] = hi >>> 16;
  out[at + 2] = hi >>> 8;
  out[at + 3] = hi;
  out[at + 4] = lo >>> 24;
  out[at + 5] = lo >>> 16;
  out[at + 6] = lo >>> 8;
  out[at + 7] = lo;
}

/** Exact for |v| <= 2^53 (every time in ms a Number holds), as Number(BigInt) was. */
function readInt64(bytes: Buffer, at: number): number {
  return bytes.readInt32BE(at) * TWO_32 + bytes.readUInt32BE(at + 4);
}

/** Stable text for a windowed key, e.g. in tests and logs: `key@[start,end)`. */
export function windowedKeyString(w: Windowed<unknown>): string {
  return `${String(w.key)}@[${w.window.start},${w.window.end})`;
}
