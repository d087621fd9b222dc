import { createRecordsBatch, Reader, readRecordsBatch } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import type { ProducerRecord } from "../src/record.js";
import { encodeBatch, RecordBatch, setBaseOffset } from "../src/record-batch.js";

/**
 * Tributary's record batch is Kafka's RecordBatch v2, checked against an implementation
 * written without it: the Kafka client's own batch reader and writer (@platformatic/kafka,
 * which the Kafka backend uses). Each side decodes what the other encoded, field by field.
 */
const BASE_TS = 1_700_000_000_000;
const records: ProducerRecord[] = [
  {
    key: Buffer.from("k1"),
    value: Buffer.from("v1"),
    timestamp: BASE_TS + 500,
    headers: { trace: "abc", bin: Buffer.from([0, 255]) },
  },
  // Negative timestamp deltas, small and beyond 32 bits.
  { key: null, value: Buffer.from("no key"), timestamp: BASE_TS - 1 },
  { key: Buffer.from("tombstone"), value: null, timestamp: 3 },
  { key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: BASE_TS + 2 ** 40 },
  { key: Buffer.from("big"), value: Buffer.alloc(300, 7), timestamp: BASE_TS + 500 },
];
/**
 * The client's encoder zigzags a varlong with `>> 31n` where Kafka uses `>> 63`, so it
 * writes wrong bytes for a timestamp delta beyond ±2^31 ms (its decoder is right, and reads
 * those deltas from Tributary's batches above). What it encodes keeps to that range.
 */
const within32Bits: ProducerRecord[] = records.map((r, i) => ({
  ...r,
  timestamp: BASE_TS + 500 - 1000 * i,
}));

function kafkaClientBatch(
  recs: ProducerRecord[],
  options: Parameters<typeof createRecordsBatch>[1],
): Buffer {
  return createRecordsBatch(
    recs.map((r) => ({
      topic: "t",
      partition: 0,
      key: r.key ?? undefined,
      value: r.value as Buffer,
      timestamp: BigInt(r.timestamp!),
      headers: new Map(
        Object.entries(r.headers ?? {}).map(([k, v]) => [Buffer.from(k), Buffer.from(v)]),
      ),
    })),
    options,
  ).buffer;
}

describe("record batch against the Kafka client's codec", () => {
  it("the Kafka client reads every field of a batch Tributary encoded", () => {
    const buf = encodeBatch(records, { producerId: 4242, producerEpoch: 7, baseSequence: 99 });
    setBaseOffset(buf, 0, 1000);
    const theirs = readRecordsBatch(Reader.from(buf));
    expect(theirs.firstOffset).toBe(1000n);
    expect(theirs.length).toBe(buf.length - 12);
    expect(theirs.partitionLeaderEpoch).toBe(-1);
    expect(theirs.magic).toBe(2);
    expect(theirs.crc).toBe(new RecordBatch(buf).crc);
    expect(theirs.attributes).toBe(0);
    expect(theirs.lastOffsetDelta).toBe(4);
    expect(theirs.firstTimestamp).toBe(BigInt(BASE_TS + 500));
    expect(theirs.maxTimestamp).toBe(BigInt(BASE_TS + 2 ** 40));
    expect(theirs.producerId).toBe(4242n);
    expect(theirs.producerEpoch).toBe(7);
    expect(theirs.firstSequence).toBe(99);
    expect(theirs.records).toHaveLength(records.length);
    theirs.records.forEach((r, i) => {
      const mine = records[i]!;
      expect(r.attributes).toBe(0);
      expect(r.offsetDelta).toBe(i);
      expect(theirs.firstTimestamp + r.timestampDelta).toBe(BigInt(mine.timestamp!));
      expect(r.key).toEqual(mine.key ?? null);
      expect(r.value).toEqual(mine.value);
      const headers = Object.entries(mine.headers ?? {}).map(([k, v]) => [
        Buffer.from(k),
        Buffer.from(v),
      ]);
      expect(r.headers).toEqual(headers);
    });
  });

  it("Tributary reads every field of a batch the Kafka client encoded", () => {
    const buf = kafkaClientBatch(within32Bits, {
      producerId: 77n,
      producerEpoch: 2,
      partitionLeaderEpoch: 0,
    });
    const batch = new RecordBatch(buf);
    batch.verify();
    expect(batch.magic).toBe(2);
    expect(batch.baseOffset).toBe(0);
    expect(batch.partitionLeaderEpoch).toBe(0);
    expect(batch.producerId).toBe(77);
    expect(batch.producerEpoch).toBe(2);
    expect(batch.recordCount).toBe(records.length);
    expect(batch.lastOffsetDelta).toBe(records.length - 1);
    expect(batch.baseTimestamp).toBe(BASE_TS + 500);
    expect(batch.maxTimestamp).toBe(BASE_TS + 500);
    const out = batch.records();
    expect(out).toHaveLength(records.length);
    out.forEach((r, i) => {
      const mine = within32Bits[i]!;
      expect(r.offset).toBe(i);
      expect(r.timestamp).toBe(mine.timestamp);
      // The client writes an absent value as null; a present empty key as empty bytes.
      expect(r.key).toEqual(mine.key ?? null);
      expect(r.value).toEqual(mine.value);
      const headers = Object.fromEntries(
        Object.entries(mine.headers ?? {}).map(([k, v]) => [k, Buffer.from(v)]),
      );
      expect(r.headers).toEqual(headers);
    });
  });

  it("encodes byte for byte what the Kafka client encodes for the same records", () => {
    const mine = encodeBatch(within32Bits, { producerId: 5, producerEpoch: 1, baseSequence: 0 });
    const theirs = kafkaClientBatch(within32Bits, {
      producerId: 5n,
      producerEpoch: 1,
      partitionLeaderEpoch: -1,
    });
    expect(mine.toString("hex")).toBe(theirs.toString("hex"));
  });

  it("writes a timestamp delta beyond 32 bits as Kafka's zigzag varlong", () => {
    const delta = 3 - (BASE_TS + 500);
    const buf = encodeBatch([{ value: null, timestamp: BASE_TS + 500 }, records[2]!]);
    // Kafka's ByteUtils.writeVarlong: zigzag (v << 1) ^ (v >> 63), then 7 bits a byte.
    let zz = BigInt.asUintN(64, (BigInt(delta) << 1n) ^ (BigInt(delta) >> 63n));
    const expected: number[] = [];
    while (zz >= 0x80n) {
      expected.push(Number(zz & 0x7fn) | 0x80);
      zz >>= 7n;
    }
    expected.push(Number(zz));
    // The second record: its length, attributes, then the timestamp delta.
    const second = 61 + 1 + buf[61]! / 2;
    expect([...buf.subarray(second + 2, second + 2 + expected.length)]).toEqual(expected);
    expect(new RecordBatch(buf).records()[1]!.timestamp).toBe(3);
  });
});
