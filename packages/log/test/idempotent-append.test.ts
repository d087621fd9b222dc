import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  InvalidArgumentError,
  OutOfOrderSequenceError,
  ProducerFencedError,
} from "../src/errors.js";
import { openEmbeddedLog } from "../src/embedded-log.js";
import { encodeBatch } from "../src/record-batch.js";
import type { PartitionLog } from "../src/storage/partition-log.js";
import { PartitionLog as PartitionLogClass } from "../src/storage/partition-log.js";
import {
  ManualClock,
  openLog,
  readAll,
  removeTempDirs,
  seqOf,
  seqValue,
  tempDir,
  testConfig,
} from "./storage-helpers.js";

/** A batch of idempotent producer `pid`: records seq..seq+count-1, sequence numbers the same. */
function producerBatch(pid: number, epoch: number, seq: number, count: number): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ value: seqValue(seq + i) }));
  return encodeBatch(records, { producerId: pid, producerEpoch: epoch, baseSequence: seq });
}

async function appendCopy(log: PartitionLog, batch: Buffer) {
  // The log stamps offsets into the buffer it gets: a retry sends the same bytes again.
  return log.append(Buffer.from(batch));
}

afterEach(removeTempDirs);

describe("idempotent appends", () => {
  it("stores a retried batch once and answers it with the original offsets", async () => {
    const log = openLog(tempDir());
    const a = producerBatch(7, 0, 0, 3);
    const b = producerBatch(7, 0, 3, 2);
    expect(await appendCopy(log, a)).toEqual({ baseOffset: 0, lastOffset: 2 });
    expect(await appendCopy(log, b)).toEqual({ baseOffset: 3, lastOffset: 4 });
    // Both retried (lost acks): nothing more is written.
    expect(await appendCopy(log, a)).toEqual({ baseOffset: 0, lastOffset: 2 });
    expect(await appendCopy(log, b)).toEqual({ baseOffset: 3, lastOffset: 4 });
    expect(log.logEndOffset).toBe(5);
    // Another producer's batch with the same sequence numbers is its own.
    expect(await appendCopy(log, producerBatch(8, 0, 0, 3))).toEqual({
      baseOffset: 5,
      lastOffset: 7,
    });
    // A batch without a producer is never deduplicated.
    const plain = encodeBatch([{ value: seqValue(99) }]);
    await appendCopy(log, plain);
    await appendCopy(log, plain);
    expect(log.logEndOffset).toBe(10);
    await log.close();
  });

  it("refuses a sequence gap and an older epoch, by code, writing nothing", async () => {
    const log = openLog(tempDir());
    await appendCopy(log, producerBatch(7, 1, 0, 2));
    const gap = appendCopy(log, producerBatch(7, 1, 5, 1));
    await expect(gap).rejects.toThrow(OutOfOrderSequenceError);
    await expect(gap).rejects.toMatchObject({ code: "OUT_OF_ORDER_SEQUENCE", retriable: true });
    const fenced = appendCopy(log, producerBatch(7, 0, 2, 1));
    await expect(fenced).rejects.toThrow(ProducerFencedError);
    await expect(fenced).rejects.toMatchObject({ code: "PRODUCER_FENCED" });
    // A new epoch starts at sequence 0.
    await expect(appendCopy(log, producerBatch(7, 2, 4, 1))).rejects.toThrow(
      OutOfOrderSequenceError,
    );
    expect(log.logEndOffset).toBe(2);
    expect(await appendCopy(log, producerBatch(7, 2, 0, 1))).toEqual({
      baseOffset: 2,
      lastOffset: 2,
    });
    // An idempotent batch comes alone.
    await expect(
      log.append(Buffer.concat([producerBatch(9, 0, 0, 1), producerBatch(9, 0, 1, 1)])),
    ).rejects.toThrow(InvalidArgumentError);
    await log.close();
  });

  it("keeps the last five batches per producer: a retry of an older one is refused, not stored", async () => {
    const log = openLog(tempDir());
    const batches = Array.from({ length: 7 }, (_, i) => producerBatch(3, 0, i, 1));
    for (const b of batches) await appendCopy(log, b);
    expect(await appendCopy(log, batches[2]!)).toEqual({ baseOffset: 2, lastOffset: 2 });
    await expect(appendCopy(log, batches[1]!)).rejects.toThrow(OutOfOrderSequenceError);
    expect(log.logEndOffset).toBe(7);
    await log.close();
  });

  for (const how of ["a clean close", "a crash (no close, no snapshot since open)"]) {
    it(`keeps deduplicating after ${how}`, async () => {
      const dir = tempDir();
      const log = openLog(dir);
      const batches = Array.from({ length: 4 }, (_, i) => producerBatch(11, 0, i * 2, 2));
      for (const b of batches) await appendCopy(log, b);
      if (how === "a clean close") await log.close();
      else fs.rmSync(path.join(dir, ".clean-shutdown"), { force: true });
      // The crash case opens while the first log still holds its files: as after SIGKILL,
      // what it wrote is in the page cache, and its snapshot is the one from its open.
      const reopened = openLog(dir);
      for (const b of batches) await appendCopy(reopened, b);
      await expect(appendCopy(reopened, producerBatch(11, 0, 9, 1))).rejects.toThrow(
        OutOfOrderSequenceError,
      );
      expect(await appendCopy(reopened, producerBatch(11, 0, 8, 1))).toEqual({
        baseOffset: 8,
        lastOffset: 8,
      });
      expect(readAll(reopened).map(seqOf)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      await reopened.close();
    });
  }

  it("still recognises retries after compaction rewrote the batches and a crash lost the snapshot's tail", async () => {
    const dir = tempDir();
    const config = {
      cleanupPolicy: "compact" as const,
      segmentBytes: 1024,
      minCompactionLagMs: 0,
      flushPolicy: "always" as const,
    };
    const log = openLog(dir, config);
    // Batch i: keys "a<i>" (kept) and "x" (superseded by every later batch), padded so each
    // batch fills a segment; compaction rewrites each sealed one without its "x".
    const batches = Array.from({ length: 4 }, (_, i) =>
      encodeBatch(
        [
          { key: Buffer.from(`a${i}`), value: seqValue(i * 2, 300) },
          { key: Buffer.from("x"), value: seqValue(i * 2 + 1, 300) },
        ],
        { producerId: 21, producerEpoch: 0, baseSequence: i * 2 },
      ),
    );
    const acks = [];
    for (const b of batches) acks.push(await appendCopy(log, b));
    expect(log.compact(Date.now() + 60_000)).toBeGreaterThan(0);
    // As after a SIGKILL: the snapshot is the one from the open, so the state is rebuilt
    // from the compacted batches.
    fs.rmSync(path.join(dir, ".clean-shutdown"), { force: true });
    const reopened = openLog(dir, config);
    const end = reopened.logEndOffset;
    for (let i = 0; i < batches.length; i++) {
      expect(await appendCopy(reopened, batches[i]!)).toEqual(acks[i]);
    }
    expect(reopened.logEndOffset).toBe(end);
    await reopened.close();
    await log.close();
  });

  it("forgets a producer silent for producer.id.expiration.ms", async () => {
    const clock = new ManualClock();
    const log = PartitionLogClass.open(tempDir(), {
      topic: "t",
      partition: 0,
      config: testConfig(),
      now: clock.now,
      producerIdExpirationMs: 60_000,
    });
    await appendCopy(log, producerBatch(5, 0, 0, 1));
    clock.advance(59_000);
    expect(await appendCopy(log, producerBatch(5, 0, 0, 1))).toEqual({
      baseOffset: 0,
      lastOffset: 0,
    });
    clock.advance(60_000);
    // Expired: the same batch is new again (its state is gone), as in Kafka.
    expect(await appendCopy(log, producerBatch(5, 0, 0, 1))).toEqual({
      baseOffset: 1,
      lastOffset: 1,
    });
    await log.close();
  });

  it("a producer whose batch was refused for good goes on with its next sends", async () => {
    const log = await openEmbeddedLog(tempDir(), { maintenanceIntervalMs: 0 });
    try {
      await log.admin.createTopic("t", { partitions: 1, config: { maxMessageBytes: 1024 } });
      const producer = log.producer();
      await producer.send("t", [{ value: Buffer.from("first") }]);
      await expect(producer.send("t", [{ value: Buffer.alloc(4000) }])).rejects.toMatchObject({
        code: "RECORD_TOO_LARGE",
      });
      // Its sequence numbers were never stored: without a fresh start this is a gap.
      expect(await producer.send("t", [{ value: Buffer.from("after") }])).toEqual([
        { topic: "t", partition: 0, baseOffset: 1, lastOffset: 1 },
      ]);
    } finally {
      await log.close();
    }
  });

  it("hands out producer ids that stay unique across restarts", async () => {
    const dir = tempDir();
    const seen = new Set<number>();
    for (let round = 0; round < 3; round++) {
      const log = await openEmbeddedLog(dir, { maintenanceIntervalMs: 0 });
      for (let i = 0; i < 5; i++) {
        const producer = log.producer();
        await log.admin.createTopic("t", { partitions: 1, ifNotExists: true });
        const [ack] = await producer.send("t", [{ value: Buffer.from("x") }]);
        expect(ack).toBeDefined();
      }
      await log.close();
    }
    // Read the ids back from the batches' headers.
    const { splitBatches } = await import("../src/record-batch.js");
    const files = fs.readdirSync(path.join(dir, "t-0")).filter((f) => f.endsWith(".log"));
    for (const f of files) {
      for (const b of splitBatches(fs.readFileSync(path.join(dir, "t-0", f))).batches) {
        expect(b.producerId).toBeGreaterThanOrEqual(0);
        expect(seen.has(b.producerId)).toBe(false);
        seen.add(b.producerId);
      }
    }
    expect(seen.size).toBe(15);
  });
});
