import { describe, expect, it } from "vitest";
import { stampProducer } from "../src/client/record-batch-builder.js";
import { RecordBatchBuilder } from "../src/client/record-batch-builder.js";
import { NO_HEADERS, type ProducerRecord } from "../src/record.js";
import { encodeBatch, RecordBatch, TRANSACTIONAL_FLAG } from "../src/record-batch.js";

/** Records with every shape a streams sink hands over: null keys, tombstones, headers. */
function records(): ProducerRecord[] {
  const ts = 1_796_000_000_000;
  const out: ProducerRecord[] = [];
  for (let i = 0; i < 400; i++) {
    const key = i % 7 === 3 ? null : Buffer.from(i % 5 === 0 ? `k${i}-${"x".repeat(40)}` : `k${i}`);
    const value = i % 11 === 4 ? null : Buffer.from(`value ${i} ${"v".repeat(i % 90)}`);
    const headers =
      i % 13 === 0
        ? { "error.message": `bad ${i}`, "error.offset": Buffer.from(String(i)), empty: "" }
        : NO_HEADERS;
    // timestamps that go back and forth, so negative deltas and the max are checked too
    out.push({ key, value, headers, timestamp: ts + ((i * 37) % 101) - 50 });
  }
  return out;
}

describe("a RecordBatchBuilder's appendParts", () => {
  it("writes byte for byte the batch encodeBatch makes of the same records", () => {
    const rs = records();
    const writer = new RecordBatchBuilder(1 << 20, 256); // small start: the buffer grows
    for (const r of rs) {
      expect(writer.appendParts(r.key, r.value, r.timestamp!, r.headers)).toBe(true);
    }
    expect(writer.count).toBe(rs.length);
    const built = Buffer.from(writer.finish());
    const stamp = {
      producerId: 7,
      producerEpoch: 2,
      baseSequence: 99,
      attributes: TRANSACTIONAL_FLAG,
    };
    stampProducer(built, stamp);
    expect(built.equals(encodeBatch(rs, stamp))).toBe(true);
    const batch = new RecordBatch(built, 0);
    batch.verify();
    const read: ProducerRecord[] = [];
    batch.forEach((r) => {
      read.push({ key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers });
    });
    expect(read.map((r) => [r.key?.toString() ?? null, r.value?.toString() ?? null])).toEqual(
      rs.map((r) => [r.key?.toString() ?? null, r.value?.toString() ?? null]),
    );
    expect(read.map((r) => r.timestamp)).toEqual(rs.map((r) => r.timestamp));
    expect(read.filter((r) => Object.keys(r.headers!).length > 0)).toHaveLength(
      rs.filter((r) => r.headers !== NO_HEADERS).length,
    );
  });

  it("refuses a record past its capacity without changing the batch, except its first", () => {
    const big = Buffer.alloc(5000, 0x61);
    const writer = new RecordBatchBuilder(4096);
    expect(writer.appendParts(null, big, 1000, undefined)).toBe(true);
    const bytes = writer.bytes;
    // a later timestamp refused must not become the batch's max timestamp
    expect(writer.appendParts(Buffer.from("k"), big.subarray(0, 100), 9000, undefined)).toBe(false);
    expect(writer.count).toBe(1);
    expect(writer.bytes).toBe(bytes);
    const batch = new RecordBatch(writer.finish(), 0);
    expect(batch.maxTimestamp).toBe(1000);
  });
});
