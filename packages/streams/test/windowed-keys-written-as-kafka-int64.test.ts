import { describe, expect, it } from "vitest";
import { Serdes } from "../src/serdes.js";
import { windowedSerde } from "../src/windows/windowed.js";

describe("windowed keys", () => {
  const times = [
    0,
    1,
    59_999,
    60_000,
    1_700_000_040_000,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 53 - 1,
    -1,
    -(2 ** 40) - 7,
  ];

  // reference through BigInt and the key's own bytes, independent of the serde's arithmetic
  function reference(keyBytes: Buffer, start: number, end: number): Buffer {
    const want = Buffer.alloc(keyBytes.length + 16);
    keyBytes.copy(want, 0);
    want.writeBigInt64BE(BigInt(start), keyBytes.length);
    want.writeBigInt64BE(BigInt(end), keyBytes.length + 8);
    return want;
  }

  it("write the key's bytes, then start and end as big-endian int64 (string keys, ASCII or not)", () => {
    const serde = windowedSerde(Serdes.string());
    for (const key of ["k-1", "", "ключ-☃"]) {
      for (const start of times) {
        const end = start + 60_000;
        const got = serde.serialize({ key, window: { start, end } }) as Buffer;
        expect(got, `${key} ${start}`).toEqual(reference(Buffer.from(key, "utf8"), start, end));
        expect(serde.deserialize(got)).toEqual({ key, window: { start, end } });
      }
    }
    expect(() =>
      serde.serialize({ key: 7 as unknown as string, window: { start: 0, end: 1 } }),
    ).toThrow(/string serde got a number/);
  });

  it("write any other serde's key bytes the same way", () => {
    const serde = windowedSerde(Serdes.json<{ id: number }>());
    for (const start of times) {
      const key = { id: start };
      const got = serde.serialize({ key, window: { start, end: start + 5 } }) as Buffer;
      expect(got).toEqual(reference(Buffer.from(JSON.stringify(key)), start, start + 5));
      expect(serde.deserialize(got)).toEqual({ key, window: { start, end: start + 5 } });
    }
  });
});
