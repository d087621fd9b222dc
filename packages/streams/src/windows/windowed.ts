import { SerdeDecodeError } from "@tributary/log";
import type { Serde } from "../serdes.js";

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
  return {
    name: `windowed(${inner.name ?? "custom"})`,
    serialize(w) {
      if (w === null || w === undefined) return null;
      const k = inner.serialize(w.key) ?? Buffer.alloc(0);
      const out = Buffer.allocUnsafe(k.length + 16);
      k.copy(out, 0);
      out.writeBigInt64BE(BigInt(w.window.start), k.length);
      out.writeBigInt64BE(BigInt(w.window.end), k.length + 8);
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
          start: Number(bytes.readBigInt64BE(n)),
          end: Number(bytes.readBigInt64BE(n + 8)),
        },
      };
    },
  };
}

/** Stable text for a windowed key, e.g. in tests and logs: `key@[start,end)`. */
export function windowedKeyString(w: Windowed<unknown>): string {
  return `${String(w.key)}@[${w.window.start},${w.window.end})`;
}
