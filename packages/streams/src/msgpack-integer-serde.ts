import { Serdes, type Serde } from "@tributary/log";

const msgpack = Serdes.msgpack<unknown>();

/*
 * MessagePack with an integer fast path: the same bytes as the log's msgpack serde (msgpackr,
 * `useRecords: false`) for every value, so any MessagePack library reads them and stores and
 * topics written before stay readable. Integers from -2^31 to 2^32 - 1 (counts, sums, ids)
 * are written and read here, in the smallest form the spec allows, as msgpackr writes them:
 *   positive fixint 0xxxxxxx                 0 .. 127
 *   negative fixint 111xxxxx                 -32 .. -1
 *   uint8  0xcc u8 | uint16 0xcd u16 | uint32 0xce u32      (big-endian)
 *   int8   0xd0 i8 | int16  0xd1 i16 | int32  0xd2 i32
 * Everything else (floats, larger integers — msgpackr writes those as float64 — strings,
 * objects) goes to msgpackr. msgpackr's pack costs ~110 ns per small integer on this machine
 * against ~35 ns for the allocation alone, and a windowed count writes one per window at
 * every flush, to its store and its output topic.
 */
function encodeInteger(v: number): Buffer {
  if (v < 0x80 && v >= -0x20) {
    const b = Buffer.allocUnsafe(1);
    b[0] = v & 0xff; // a fixint: the value's low byte, two's complement when negative
    return b;
  }
  if (v >= 0) {
    const b = v < 0x100 ? tagged(0xcc, 1) : v < 0x10000 ? tagged(0xcd, 2) : tagged(0xce, 4);
    b.writeUIntBE(v, 1, b.length - 1);
    return b;
  }
  const b = v >= -0x80 ? tagged(0xd0, 1) : v >= -0x8000 ? tagged(0xd1, 2) : tagged(0xd2, 4);
  b.writeIntBE(v, 1, b.length - 1);
  return b;
}

function tagged(tag: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(1 + size);
  b[0] = tag;
  return b;
}

/** The integer `bytes` hold if they are exactly one of the forms above, else undefined. */
function decodeInteger(bytes: Buffer): number | undefined {
  const tag = bytes[0]!;
  switch (bytes.length) {
    case 1:
      if (tag < 0x80) return tag;
      if (tag >= 0xe0) return tag - 0x100;
      return undefined;
    case 2:
      if (tag === 0xcc) return bytes[1];
      if (tag === 0xd0) return bytes.readInt8(1);
      return undefined;
    case 3:
      if (tag === 0xcd) return bytes.readUInt16BE(1);
      if (tag === 0xd1) return bytes.readInt16BE(1);
      return undefined;
    case 5:
      if (tag === 0xce) return bytes.readUInt32BE(1);
      if (tag === 0xd2) return bytes.readInt32BE(1);
      return undefined;
    default:
      return undefined;
  }
}

/** The default serde of the DSL: MessagePack, integers encoded and decoded without msgpackr. */
export const msgpackIntegerSerde: Serde<unknown> = {
  name: msgpack.name,
  serialize(value) {
    // integral and -2^31 <= v < 2^32 (msgpackr's own test; -0 passes it and is written as 0, as msgpackr does)
    if (typeof value === "number" && (value >>> 0 === value || value >> 0 === value)) {
      return encodeInteger(value);
    }
    return msgpack.serialize(value);
  },
  deserialize(bytes) {
    if (bytes === null || bytes.length === 0) return msgpack.deserialize(bytes);
    const n = decodeInteger(bytes);
    return n === undefined ? msgpack.deserialize(bytes) : n;
  },
};
