import { Serdes } from "@tributary/log";

/** Shared helpers for the streams tests: a seeded generator (so a failure reproduces) and
 * the serdes most tests use. */

/** mulberry32: a small seeded PRNG; returns floats in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

const VOCABULARY = [
  "stream",
  "table",
  "log",
  "offset",
  "Kafka",
  "partition",
  "key",
  "value",
  "record",
  "topic",
  "broker",
  "tributary",
  "river",
  "delta",
  "flow",
  "state",
  "store",
  "time",
];

/** A line of 0..11 words with mixed case and punctuation between them. */
export function randomLine(rand: () => number): string {
  const n = Math.floor(rand() * 12);
  const words: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = pick(rand, VOCABULARY);
    words.push(rand() < 0.2 ? w.toUpperCase() : w);
  }
  return words.join(pick(rand, [" ", ", ", "  ", "; ", " - "]));
}

export const str = Serdes.string();
export const json = Serdes.json();
export const msgpack = Serdes.msgpack();
export const bytes = Serdes.bytes();
