import { afterEach, describe, expect, it } from "vitest";
import { RecordBatchBuilder } from "../src/client/record-batch-builder.js";
import { stampProducer } from "../src/client/record-batch-builder.js";
import { partitionForKey } from "../src/client/partitioner.js";
import { openEmbeddedLog } from "../src/embedded-log.js";
import { encodeBatch, RecordBatch } from "../src/record-batch.js";
import { removeTempDirs, tempDir } from "./storage-helpers.js";

afterEach(removeTempDirs);

/** Key and value of record `i`, written side by side in one buffer, as a source would. */
function row(i: number): { buf: Buffer; keyEnd: number } {
  const key = `{"id":${i}}`;
  const value = JSON.stringify({ after: { id: i, pad: "x".repeat(i % 50) }, op: "r" });
  return { buf: Buffer.from(key + value), keyEnd: Buffer.byteLength(key) };
}

describe("batches a caller encodes (RecordBatchBuilder, Producer.sendEncoded)", () => {
  it("are byte for byte the batch encodeBatch makes of the same records", () => {
    const ts = 1_796_000_000_000;
    const builder = new RecordBatchBuilder(1 << 20);
    const records = [];
    for (let i = 0; i < 300; i++) {
      const { buf, keyEnd } = row(i);
      // Timestamps that move, so the deltas' varlongs are checked too.
      expect(builder.append(buf, 0, keyEnd, buf, keyEnd, buf.length, ts + i * 7)).toBe(true);
      records.push({
        key: buf.subarray(0, keyEnd),
        value: buf.subarray(keyEnd),
        timestamp: ts + i * 7,
      });
    }
    const built = Buffer.from(builder.finish());
    const stamp = { producerId: 42, producerEpoch: 3, baseSequence: 1000 };
    stampProducer(built, stamp);
    expect(built.equals(encodeBatch(records, stamp))).toBe(true);
    const plain = Buffer.from(built);
    stampProducer(plain, null);
    expect(plain.equals(encodeBatch(records))).toBe(true);
  });

  it("refuses a record past the capacity, except a batch's first", () => {
    const big = Buffer.alloc(5000, 0x61);
    const builder = new RecordBatchBuilder(4096);
    expect(builder.append(big, 0, 10, big, 10, 5000, 0)).toBe(true);
    expect(builder.append(big, 0, 10, big, 10, 100, 0)).toBe(false);
    expect(builder.count).toBe(1);
  });

  it("keep a refused record's timestamp out of the batch's max timestamp", () => {
    const big = Buffer.alloc(5000, 0x61);
    const builder = new RecordBatchBuilder(4096);
    expect(builder.append(big, 0, 10, big, 10, 100, 1_000)).toBe(true);
    expect(builder.appendRecord({ key: null, value: big }, 9_000)).toBe(false);
    expect(builder.append(big, 0, 10, big, 10, 5000, 9_000)).toBe(false);
    const batch = new RecordBatch(builder.finish());
    expect(batch.recordCount).toBe(1);
    expect(batch.maxTimestamp).toBe(1_000);
  });

  it("go to the partition the caller chose, in order with send()'s batches, with sequences the log accepts", async () => {
    const log = await openEmbeddedLog(tempDir());
    try {
      const partitions = 4;
      await log.admin.createTopic("t", { partitions });
      const producer = log.producer();
      expect(producer.sendEncoded).toBeDefined();
      const expected: string[][] = Array.from({ length: partitions }, () => []);
      let next = 0;
      // Rounds of: records through send(), then the same kind through encoded batches
      // (two per partition, the second starting where the first filled up), on one
      // idempotent producer, so both take sequence numbers from the same counters.
      for (let round = 0; round < 3; round++) {
        const sent = Array.from({ length: 40 }, () => row(next++));
        await producer.send(
          "t",
          sent.map((r) => ({ key: r.buf.subarray(0, r.keyEnd), value: r.buf.subarray(r.keyEnd) })),
        );
        for (const r of sent) {
          expected[partitionForKey(r.buf.subarray(0, r.keyEnd), partitions)]!.push(
            r.buf.toString(),
          );
        }
        const builders = new Map<number, RecordBatchBuilder>();
        const batches: { partition: number; batch: Buffer }[] = [];
        for (let i = 0; i < 200; i++) {
          const r = row(next++);
          const p = partitionForKey(r.buf.subarray(0, r.keyEnd), partitions);
          let b = builders.get(p) ?? new RecordBatchBuilder(2048);
          if (!b.append(r.buf, 0, r.keyEnd, r.buf, r.keyEnd, r.buf.length, Date.now())) {
            batches.push({ partition: p, batch: b.finish() });
            b = new RecordBatchBuilder(2048);
            b.append(r.buf, 0, r.keyEnd, r.buf, r.keyEnd, r.buf.length, Date.now());
          }
          builders.set(p, b);
          expected[p]!.push(r.buf.toString());
        }
        for (const [p, b] of builders) batches.push({ partition: p, batch: b.finish() });
        const acks = await producer.sendEncoded!("t", batches);
        expect(acks.map((a) => a.partition).sort()).toEqual(
          [...new Set(batches.map((b) => b.partition))].sort(),
        );
      }
      await expect(
        producer.sendEncoded!("t", [{ partition: 4, batch: Buffer.alloc(70) }]),
      ).rejects.toThrow(/partition 4, but topic 't' has partitions 0..3/);
      await producer.close();

      const consumer = log.consumer();
      const ends = await log.admin.listOffsets("t", "latest");
      consumer.assign(ends.map((e) => ({ topic: "t", partition: e.partition })));
      for (const e of ends) consumer.seek({ topic: "t", partition: e.partition }, 0);
      const got: string[][] = Array.from({ length: partitions }, () => []);
      const done = () => ends.every((e) => got[e.partition]!.length >= e.offset);
      while (!done()) {
        for (const f of await consumer.poll({ maxWaitMs: 200 })) {
          for (const r of f.records)
            got[f.partition]!.push(r.key!.toString() + r.value!.toString());
        }
      }
      await consumer.close();
      expect(got).toEqual(expected);
    } finally {
      await log.close();
    }
  });
});
