import { SerdeEncodeError, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { bufferedSerde, decodePendingKey, pendingKey } from "../src/joins/join-buffer-serde.js";
import { seeded } from "./helpers.js";

// Join buffers and pending stores already on disk and in changelogs hold these bytes: the
// encoders must write exactly the documented layout. The references below build it with
// DataView / BigInt, independently of the encoders' own word writes.

function referencePendingKey(timestamp: number, left: boolean, seq: number, key: Buffer): Buffer {
  const head = new DataView(new ArrayBuffer(13));
  head.setBigInt64(0, BigInt(timestamp));
  head.setUint8(8, left ? 0 : 1);
  head.setUint32(9, seq >>> 0);
  return Buffer.concat([Buffer.from(head.buffer), key]);
}

describe("join buffer encoding", () => {
  it("a buffered record is seq:uint32 then the value's bytes, and decodes back", () => {
    const serde = bufferedSerde(Serdes.string());
    const rand = seeded(7);
    for (let i = 0; i < 500; i++) {
      const seq = Math.floor(rand() * 2 ** 32);
      const value = `v-${Math.floor(rand() * 1e9)}-é`;
      const bytes = serde.serialize({ seq, value }) as Buffer;
      const head = new DataView(new ArrayBuffer(4));
      head.setUint32(0, seq);
      expect(bytes).toEqual(Buffer.concat([Buffer.from(head.buffer), Buffer.from(value, "utf8")]));
      expect(serde.deserialize(bytes)).toEqual({ seq, value });
    }
    // the processor's counter wraps: a seq past 2^32 is stored modulo 2^32
    const wrapped = serde.serialize({ seq: 2 ** 32 + 5, value: "x" }) as Buffer;
    expect(serde.deserialize(wrapped).seq).toBe(5);
  });

  it("a pending key is int64 time, side, seq, key; it decodes back and sorts by time", () => {
    const rand = seeded(11);
    const times = [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 1_700_000_000_000, 2 ** 53 - 1];
    for (let i = 0; i < 300; i++) times.push(Math.floor(rand() * 2 ** 45));
    const keys = times.map((t, i) => {
      const key = Buffer.from(`key-${i % 17}`);
      const left = i % 2 === 0;
      const seq = Math.floor(rand() * 2 ** 32);
      const bytes = pendingKey(t, left, seq, key);
      expect(bytes).toEqual(referencePendingKey(t, left, seq, key));
      const d = decodePendingKey(bytes);
      expect(d.timestamp).toBe(t);
      expect(d.left).toBe(left);
      expect(Buffer.from(d.key)).toEqual(key);
      expect(bytes.readUInt32BE(9)).toBe(seq);
      return { t, bytes };
    });
    const byBytes = [...keys].sort((a, b) => Buffer.compare(a.bytes, b.bytes)).map((k) => k.t);
    expect(byBytes).toEqual([...times].sort((a, b) => a - b));
  });

  it("refuses a timestamp the int64 words cannot hold exactly", () => {
    expect(() => pendingKey(-1, true, 1, Buffer.from("k"))).toThrow(SerdeEncodeError);
    expect(() => pendingKey(2 ** 53, true, 1, Buffer.from("k"))).toThrow(SerdeEncodeError);
    expect(() => pendingKey(1.5, true, 1, Buffer.from("k"))).toThrow(SerdeEncodeError);
  });
});
