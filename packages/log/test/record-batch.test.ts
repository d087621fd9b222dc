import { describe, expect, it } from "vitest";
import { CorruptRecordError, UnsupportedCompressionError } from "../src/errors.js";
import { NO_HEADERS } from "../src/record.js";
import {
  BATCH_HEADER_SIZE,
  encodeBatch,
  encodeBatchAt,
  RecordBatch,
  setBaseOffset,
  splitBatches,
  TRANSACTIONAL_FLAG,
} from "../src/record-batch.js";

const records = [
  { key: Buffer.from("k1"), value: Buffer.from("v1"), timestamp: 1_700_000_000_123 },
  { key: null, value: Buffer.from("no key"), timestamp: 5 },
  { key: Buffer.from("gone"), value: null, timestamp: 1_700_000_000_999 },
  { key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: 0 },
  {
    key: Buffer.from("h"),
    value: Buffer.from([0, 1, 2, 255]),
    timestamp: 2 ** 45,
    headers: { trace: "abc", bin: Buffer.from([9, 8]), ünï: "çødé" },
  },
];

describe("record batch", () => {
  it("round-trips keys, values, null keys, tombstones, empty bytes, headers and timestamps", () => {
    const buf = encodeBatch(records);
    setBaseOffset(buf, 0, 1000);
    const batch = new RecordBatch(buf);
    batch.verify();
    expect(batch.baseOffset).toBe(1000);
    expect(batch.recordCount).toBe(5);
    expect(batch.lastOffset).toBe(1004);
    expect(batch.sizeInBytes).toBe(buf.length);
    expect(batch.magic).toBe(2);
    // Kafka's baseTimestamp is the first record's; the others are deltas, here negative
    // (5, 0) and beyond 32 bits (2^45), so both varlong paths are taken.
    expect(batch.baseTimestamp).toBe(1_700_000_000_123);
    expect(batch.maxTimestamp).toBe(2 ** 45);
    expect(batch.producerId).toBe(-1);
    expect(batch.producerEpoch).toBe(-1);
    expect(batch.baseSequence).toBe(-1);
    expect(batch.partitionLeaderEpoch).toBe(-1);
    expect(batch.attributes).toBe(0);
    const out = batch.records();
    expect(out.map((r) => r.offset)).toEqual([1000, 1001, 1002, 1003, 1004]);
    expect(out[0]!.key!.toString()).toBe("k1");
    expect(out[0]!.value!.toString()).toBe("v1");
    expect(out[0]!.timestamp).toBe(1_700_000_000_123);
    expect(out[1]!.key).toBeNull();
    expect(out[2]!.value).toBeNull();
    expect(out[3]!.key!.length).toBe(0);
    expect(out[3]!.value!.length).toBe(0);
    expect(out[4]!.headers.trace!.toString()).toBe("abc");
    expect([...out[4]!.headers.bin!]).toEqual([9, 8]);
    expect(out[4]!.headers.ünï!.toString()).toBe("çødé");
    expect([...out[4]!.value!]).toEqual([0, 1, 2, 255]);
    expect(out[4]!.timestamp).toBe(2 ** 45);
    expect(out[1]!.timestamp).toBe(5);
    expect(out[3]!.timestamp).toBe(0);
  });

  it("encodes a record passed on with the shared no-headers object as one without headers", () => {
    const plain = [
      { key: Buffer.from("a"), value: Buffer.from("1"), timestamp: 10 },
      { key: Buffer.from("b"), value: Buffer.from("2"), timestamp: 11, headers: {} },
    ];
    const passedOn = plain.map((r) => ({ ...r, headers: NO_HEADERS }));
    const encoded = encodeBatch(passedOn, { now: 1 });
    expect(encoded.equals(encodeBatch(plain, { now: 1 }))).toBe(true);
    // and decoding gives the shared object back, so a pass-through stays allocation-free
    const out = new RecordBatch(encoded).records();
    expect(out.map((r) => r.headers)).toEqual([NO_HEADERS, NO_HEADERS]);
    expect(out[0]!.headers).toBe(NO_HEADERS);
    expect(Object.isFrozen(NO_HEADERS)).toBe(true);
  });

  it("writes the producer id, epoch and base sequence into the header", () => {
    const batch = new RecordBatch(
      encodeBatch(records, { producerId: 2 ** 40 + 7, producerEpoch: 3, baseSequence: 1234 }),
    );
    batch.verify();
    expect(batch.producerId).toBe(2 ** 40 + 7);
    expect(batch.producerEpoch).toBe(3);
    expect(batch.baseSequence).toBe(1234);
  });

  it("sets the transactional attribute bit (bit 4, inside the CRC) only when asked", () => {
    const txn = new RecordBatch(encodeBatch(records, { attributes: TRANSACTIONAL_FLAG }));
    txn.verify();
    expect(txn.attributes).toBe(0x10);
    expect(txn.isTransactional).toBe(true);
    expect(txn.isControl).toBe(false);
    expect(new RecordBatch(encodeBatch(records)).attributes).toBe(0);
  });

  it("refuses to decode a compressed batch, naming the codec", () => {
    const buf = encodeBatch(records);
    buf.writeInt16BE(4, 21); // attributes: zstd
    const batch = new RecordBatch(buf);
    buf.writeUInt32BE(batch.computeCrc(), 17);
    batch.verify();
    expect(batch.compression).toBe(4);
    expect(() => batch.records()).toThrow(UnsupportedCompressionError);
    expect(() => batch.records()).toThrow(/compressed with zstd/);
  });

  it("uses the clock for records without a timestamp", () => {
    const batch = new RecordBatch(encodeBatch([{ value: Buffer.from("x") }], { now: 42 }));
    expect(batch.records()[0]!.timestamp).toBe(42);
  });

  it("keeps original offsets and the last offset delta with encodeBatchAt", () => {
    const at = encodeBatchAt(
      [
        { offset: 10, timestamp: 1, key: Buffer.from("a"), value: Buffer.from("1"), headers: {} },
        { offset: 14, timestamp: 2, key: Buffer.from("b"), value: null, headers: {} },
      ],
      10,
      7,
    );
    const batch = new RecordBatch(at);
    batch.verify();
    expect(batch.records().map((r) => r.offset)).toEqual([10, 14]);
    expect(batch.lastOffset).toBe(17);
    expect(batch.nextOffset).toBe(18);
  });

  it("detects any flipped byte covered by the batch check (all but the base offset and leader epoch)", () => {
    const clean = encodeBatch(records);
    for (let i = 8; i < clean.length; i++) {
      // partitionLeaderEpoch (bytes 12..15) is outside Kafka's CRC, as the base offset is.
      if (i >= 12 && i < 16) continue;
      for (const bit of [0x01, 0x80]) {
        const buf = Buffer.from(clean);
        buf[i]! ^= bit;
        let detected = false;
        try {
          const { batches } = splitBatches(buf);
          if (batches.length !== 1) detected = true;
          else batches[0]!.verify();
        } catch (err) {
          expect(err).toBeInstanceOf(CorruptRecordError);
          detected = true;
        }
        expect(detected, `flip of bit ${bit} in byte ${i} went unnoticed`).toBe(true);
      }
    }
  });

  it("refuses to decode a record that overruns its batch, even with a valid CRC", () => {
    const buf = encodeBatch([
      { key: Buffer.from("key"), value: Buffer.from("value"), timestamp: 1 },
    ]);
    // Claim a longer key than the record holds (record: length, attributes, timestamp delta,
    // offset delta, then the key length varint), and re-sign the batch so only structure
    // catches it.
    expect(buf[BATCH_HEADER_SIZE + 4]).toBe(6); // zigzag(3)
    buf[BATCH_HEADER_SIZE + 4] = 0x7e; // zigzag(63)
    const batch = new RecordBatch(buf);
    buf.writeUInt32BE(batch.computeCrc(), 17);
    batch.verify();
    expect(() => batch.records()).toThrow(CorruptRecordError);
  });

  it("rejects a record batch with no records", () => {
    expect(() => encodeBatch([])).toThrow(RangeError);
  });

  it("splits back-to-back batches and leaves out a partial trailing batch", () => {
    const a = encodeBatch([{ value: Buffer.from("a") }]);
    const b = encodeBatch([{ value: Buffer.from("b") }, { value: Buffer.from("c") }]);
    const c = encodeBatch([{ value: Buffer.from("d") }]);
    const all = Buffer.concat([a, b, c]);
    const whole = splitBatches(all);
    expect(whole.batches).toHaveLength(3);
    expect(whole.bytesUsed).toBe(all.length);
    for (let cut = 1; cut < c.length; cut++) {
      const partial = splitBatches(all.subarray(0, a.length + b.length + cut));
      expect(partial.batches).toHaveLength(2);
      expect(partial.bytesUsed).toBe(a.length + b.length);
      expect(partial.batches[1]!.records().map((r) => r.value!.toString())).toEqual(["b", "c"]);
    }
    expect(splitBatches(Buffer.alloc(0))).toEqual({ batches: [], bytesUsed: 0 });
  });

  it("throws on a declared length below the header size", () => {
    const a = encodeBatch([{ value: Buffer.from("a") }]);
    a.writeInt32BE(3, 8);
    expect(() => splitBatches(a)).toThrow(CorruptRecordError);
  });
});
