import { SerdeDecodeError } from "@tributary/log";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { defaultSerde } from "../src/serdes.js";
import { Serdes } from "../src/serdes.js";

// The reference: plain msgpackr, configured as the log's msgpack serde documents
// (plain MessagePack, `useRecords: false`), not the serde under test.
const plain = new Packr({ useRecords: false });

const boundaries = [
  0,
  1,
  31,
  32,
  63,
  64,
  127,
  128,
  255,
  256,
  65_535,
  65_536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  -1,
  -31,
  -32,
  -33,
  -127,
  -128,
  -129,
  -32_767,
  -32_768,
  -32_769,
  -(2 ** 31) + 1,
  -(2 ** 31),
];
const fallbacks = [
  2 ** 32,
  -(2 ** 31) - 1,
  2 ** 53 - 1,
  -(2 ** 53) + 1,
  0.5,
  -1.25,
  1e300,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  -0,
  "7",
  "",
  true,
  false,
  [1, 2],
  { count: 3 },
  Buffer.from([1, 2]),
];

function randomIntegers(n: number): number[] {
  const out: number[] = [];
  let x = 0x2545f491;
  for (let i = 0; i < n; i++) {
    // xorshift32: values over the whole int32/uint32 range and every encoded width
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const width = i % 4;
    const v = width === 0 ? x & 0x7f : width === 1 ? x & 0xffff : width === 2 ? x >>> 0 : x | 0;
    out.push(i % 3 === 0 && v !== 0 ? -v : v);
  }
  return out;
}

describe("the default serde's integer fast path", () => {
  const serde = defaultSerde<unknown>();

  it("writes the bytes plain msgpackr writes, for every integer width and every other value", () => {
    for (const v of [...boundaries, ...randomIntegers(20_000), ...fallbacks]) {
      const got = serde.serialize(v);
      expect(got, `value ${String(v)}`).toEqual(plain.pack(v));
    }
  });

  it("writes the smallest form the MessagePack spec gives each integer", () => {
    // from the spec's format table, written out by hand
    const spec: [number, number[]][] = [
      [5, [0x05]],
      [127, [0x7f]],
      [200, [0xcc, 0xc8]],
      [1000, [0xcd, 0x03, 0xe8]],
      [70_000, [0xce, 0x00, 0x01, 0x11, 0x70]],
      [-1, [0xff]],
      [-32, [0xe0]],
      [-33, [0xd0, 0xdf]],
      [-200, [0xd1, 0xff, 0x38]],
      [-70_000, [0xd2, 0xff, 0xfe, 0xee, 0x90]],
    ];
    for (const [v, bytes] of spec)
      expect([...(serde.serialize(v) as Buffer)], `value ${v}`).toEqual(bytes);
  });

  it("is read back by plain msgpackr, and reads what plain msgpackr wrote", () => {
    for (const v of [...boundaries, ...randomIntegers(20_000)]) {
      expect(plain.unpack(serde.serialize(v) as Buffer)).toBe(v);
      expect(serde.deserialize(plain.pack(v))).toBe(v);
    }
    for (const v of fallbacks)
      expect(serde.deserialize(plain.pack(v))).toEqual(plain.unpack(plain.pack(v)));
  });

  it("decodes bytes that are not a lone integer as MessagePack, and still rejects what is not MessagePack", () => {
    // an integer followed by more bytes is not one value: msgpackr decides, as before
    expect(serde.deserialize(Buffer.from([0x92, 0x01, 0x02]))).toEqual([1, 2]);
    expect(serde.deserialize(Buffer.from([0xc0]))).toBeNull();
    expect(serde.deserialize(null)).toBeNull();
    expect(serde.serialize(null)).toBeNull();
    expect(() => serde.deserialize(Buffer.from([0xc1]))).toThrow(SerdeDecodeError);
    expect(() => serde.deserialize(Buffer.alloc(0))).toThrow(SerdeDecodeError);
    expect(serde.name).toBe(Serdes.msgpack().name);
  });
});
