import { Unpackr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { SerdeDecodeError, SerdeEncodeError } from "../src/errors.js";
import { type Serde, Serdes, decodeOrThrow } from "../src/serde.js";

const where = { topic: "orders", partition: 3, offset: 1234 };

function decodeFailure(serde: Serde<unknown>, bytes: Buffer): SerdeDecodeError {
  try {
    decodeOrThrow(serde, bytes, where);
  } catch (e) {
    expect(e).toBeInstanceOf(SerdeDecodeError);
    const err = e as SerdeDecodeError;
    expect(err.code).toBe("SERDE_DECODE");
    expect(err.where).toEqual(where);
    expect(err.message).toContain("orders-3 offset 1234");
    expect(err.message).toContain(
      "use the serde the producer used, or route the record to a dead-letter topic",
    );
    return err;
  }
  throw new Error("expected the decode to fail");
}

describe("msgpack serde (the default)", () => {
  const serde = Serdes.msgpack<unknown>();

  it("round-trips plain values", () => {
    const values = [
      0,
      -1,
      2 ** 40,
      1.5,
      "héllo ✓",
      "",
      true,
      false,
      [1, "two", [3]],
      { id: 7, name: "x", nested: { list: [1, 2], flag: false } },
      { bytes: Buffer.from([0, 1, 255]) },
      new Date("2026-01-02T03:04:05.678Z"),
    ];
    for (const v of values) expect(serde.deserialize(serde.serialize(v))).toEqual(v);
  });

  it("writes plain MessagePack that a reader without msgpackr's extensions decodes", () => {
    const bytes = serde.serialize({ a: 1, b: [true, "x"] })!;
    // A reader with msgpackr's record extension off sees the same map.
    expect(new Unpackr({ useRecords: false, mapsAsObjects: true }).unpack(bytes)).toEqual({
      a: 1,
      b: [true, "x"],
    });
    // It starts with a map marker (fixmap, map16, map32), not msgpackr's record extension.
    const first = bytes[0]!;
    expect((first & 0xf0) === 0x80 || first === 0xde || first === 0xdf).toBe(true);
    expect(serde.serialize("abc")!.toString("hex")).toBe("a3616263");
    expect(serde.serialize([1, 2])!.toString("hex")).toBe("920102");
  });

  it("a buffer it returned is not overwritten by the next serialize", () => {
    const a = serde.serialize({ first: "a".repeat(100) })!;
    const copy = Buffer.from(a);
    for (let i = 0; i < 1000; i++) serde.serialize({ other: i, pad: "b".repeat(50) });
    expect(a.equals(copy)).toBe(true);
  });

  it("fails clearly on truncated bytes", () => {
    const bytes = serde.serialize({ key: "value", n: 12345 })!;
    const err = decodeFailure(serde, bytes.subarray(0, bytes.length - 2));
    expect(err.message).toMatch(/not MessagePack/);
    expect(err.cause).toBeDefined();
  });

  it("fails clearly on trailing garbage, on the never-used byte 0xc1, and on empty bytes", () => {
    const bytes = serde.serialize([1, 2, 3])!;
    expect(decodeFailure(serde, Buffer.concat([bytes, Buffer.from([1])])).message).toMatch(
      /not MessagePack/,
    );
    expect(decodeFailure(serde, Buffer.from([0xc1])).message).toMatch(/0xc1 is never used/);
    expect(decodeFailure(serde, Buffer.alloc(0)).message).toMatch(/not MessagePack/);
  });

  it("is the default serde", () => {
    expect(Serdes.default()).toBe(Serdes.msgpack());
  });
});

describe("json serde", () => {
  const serde = Serdes.json<unknown>();

  it("round-trips JSON values as UTF-8 JSON text", () => {
    const v = { id: 1, tags: ["a", "ß"], ok: true, none: null };
    const bytes = serde.serialize(v)!;
    expect(bytes.toString("utf8")).toBe('{"id":1,"tags":["a","ß"],"ok":true,"none":null}');
    expect(serde.deserialize(bytes)).toEqual(v);
  });

  it("fails clearly on invalid JSON and on bytes that are not UTF-8", () => {
    expect(decodeFailure(serde, Buffer.from("{not json")).message).toMatch(/not JSON/);
    expect(decodeFailure(serde, Buffer.from([0x7b, 0xff, 0x7d])).message).toMatch(
      /not valid UTF-8/,
    );
    // MessagePack bytes sent to a JSON consumer: the usual mix-up.
    const mp = Serdes.msgpack().serialize({ a: 1 })!;
    expect(decodeFailure(serde, mp).message).toMatch(/not (JSON|valid UTF-8)/);
  });

  it("refuses to encode what JSON cannot hold", () => {
    expect(() => serde.serialize(undefined)).toThrow(SerdeEncodeError);
    expect(() => serde.serialize(() => 1)).toThrow(/cannot encode a function as JSON/);
    expect(() => serde.serialize(10n)).toThrow(SerdeEncodeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => serde.serialize(cyclic)).toThrow(SerdeEncodeError);
  });
});

describe("string serde", () => {
  const serde = Serdes.string();

  it("round-trips any string, including a leading BOM and astral characters", () => {
    for (const s of ["", "plain", "日本語", "🙂 emoji", "\uFEFFbom", "nul\u0000inside"]) {
      const bytes = serde.serialize(s)!;
      expect(bytes.equals(Buffer.from(s, "utf8"))).toBe(true);
      expect(serde.deserialize(bytes)).toBe(s);
    }
  });

  it("fails on invalid UTF-8 instead of substituting U+FFFD", () => {
    for (const bad of [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0x61, 0x80]]) {
      const err = decodeFailure(serde as Serde<unknown>, Buffer.from(bad));
      expect(err.message).toMatch(/not valid UTF-8/);
    }
  });

  it("refuses non-strings", () => {
    expect(() => serde.serialize(42 as unknown as string)).toThrow(SerdeEncodeError);
  });
});

describe("bytes serde", () => {
  const serde = Serdes.bytes();

  it("passes buffers through untouched, the same object", () => {
    const b = Buffer.from([9, 8, 7]);
    expect(serde.serialize(b)).toBe(b);
    expect(serde.deserialize(b)).toBe(b);
  });

  it("refuses what is not a Buffer", () => {
    expect(() => serde.serialize("x" as unknown as Buffer)).toThrow(SerdeEncodeError);
  });
});

describe("null is a tombstone through every serde", () => {
  const serdes: [string, Serde<unknown>][] = [
    ["msgpack", Serdes.msgpack()],
    ["json", Serdes.json()],
    ["string", Serdes.string() as Serde<unknown>],
    ["bytes", Serdes.bytes() as Serde<unknown>],
  ];
  for (const [name, serde] of serdes) {
    it(`${name}: null in, null out, both ways`, () => {
      expect(serde.serialize(null)).toBeNull();
      expect(serde.deserialize(null)).toBeNull();
      expect(decodeOrThrow(serde, null, where)).toBeNull();
    });
  }
});

describe("decodeOrThrow", () => {
  it("wraps a user serde's own error, keeping it as the cause", () => {
    const boom = new Error("schema id 99 unknown");
    const custom: Serde<string> = {
      name: "Avro",
      serialize: () => null,
      deserialize: () => {
        throw boom;
      },
    };
    const err = decodeFailure(custom as Serde<unknown>, Buffer.from([1]));
    expect(err.message).toContain("the Avro serde failed: schema id 99 unknown");
    expect(err.cause).toBe(boom);
  });

  it("returns the value when decoding succeeds", () => {
    const bytes = Serdes.string().serialize("ok");
    expect(decodeOrThrow(Serdes.string(), bytes, where)).toBe("ok");
  });
});
