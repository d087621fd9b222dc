import { describe, expect, it } from "vitest";
import { CorruptRecordError, UnsupportedCompressionError } from "../src/errors.js";
import type { ProducerRecord } from "../src/record.js";
import { BATCH_HEADER_SIZE, encodeBatch, RecordBatch } from "../src/record-batch.js";
import { forEachKeyValue } from "../src/record-batch-key-values.js";

function decode(batch: RecordBatch): [number, string | null, string | null][] {
  const out: [number, string | null, string | null][] = [];
  forEachKeyValue(batch, (offset, key, value) => {
    out.push([offset, key?.toString() ?? null, value?.toString() ?? null]);
  });
  return out;
}

/**
 * forEachKeyValue, restore's decoder, skips timestamps and headers by each record's length:
 * it must hand on every record's offset, key and value as written, and refuse a batch whose
 * record lengths overrun it as the full decoder does.
 */
describe("decoding only keys and values of a batch", () => {
  const written: ProducerRecord[] = [
    { key: Buffer.from("a"), value: Buffer.from("1"), timestamp: 1 },
    // A timestamp decades after the first: a six-byte varlong delta.
    { key: Buffer.from("b"), value: null, timestamp: 1_800_000_000_000 },
    { key: null, value: Buffer.from("keyless"), timestamp: 5 },
    { key: Buffer.from(""), value: Buffer.from(""), headers: { h1: "x", h2: Buffer.from([1, 2]) } },
    { key: Buffer.from("c".repeat(300)), value: Buffer.from("v".repeat(70_000)) },
  ];

  it("hands on offsets, keys, values, nulls and empties as written, past headers and long timestamp deltas", () => {
    const batch = new RecordBatch(encodeBatch(written, { baseOffset: 40, now: 7 }));
    expect(decode(batch)).toEqual(
      written.map((r, i) => [
        40 + i,
        r.key === null || r.key === undefined ? null : r.key.toString(),
        r.value === null ? null : r.value.toString(),
      ]),
    );
  });

  it("keeps compaction's gaps in offsets", () => {
    const batch = new RecordBatch(
      encodeBatch(written.slice(0, 3), { baseOffset: 10, offsetDeltas: [0, 4, 9] }),
    );
    expect(decode(batch).map(([o]) => o)).toEqual([10, 14, 19]);
  });

  it("refuses a record whose length runs past its batch", () => {
    const bytes = encodeBatch(written.slice(0, 2), { now: 7 });
    // The first record's length varint (zigzag: 2n) claims 60 bytes, past the batch's end.
    bytes[BATCH_HEADER_SIZE] = 120;
    expect(() => decode(new RecordBatch(bytes))).toThrow(CorruptRecordError);
  });

  it("refuses a compressed batch with the codec named", () => {
    const bytes = encodeBatch(written.slice(0, 1), { attributes: 0 });
    // Attribute bits 0-2: 1 = gzip.
    bytes.writeInt16BE(1, 21);
    expect(() => decode(new RecordBatch(bytes))).toThrow(UnsupportedCompressionError);
    expect(() => decode(new RecordBatch(bytes))).toThrow(/gzip/);
  });
});
