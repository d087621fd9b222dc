import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MetadataCache } from "../src/client/metadata-cache.js";
import { partitionForKey } from "../src/client/partitioner.js";
import { ServiceProducer } from "../src/client/service-producer.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { openEmbeddedLog } from "../src/embedded-log.js";
import type { ProducerRecord } from "../src/record.js";
import { encodeBatch, type RecordBatch, splitBatches } from "../src/record-batch.js";
import { removeTempDirs, segmentFiles, tempDir } from "./storage-helpers.js";

afterEach(removeTempDirs);

/** The batches stored in partition `p` of `topic`, read from its segment files on disk. */
function storedBatches(dir: string, topic: string, p: number): RecordBatch[] {
  const partitionDir = path.join(dir, `${topic}-${p}`);
  const out: RecordBatch[] = [];
  for (const f of segmentFiles(partitionDir)) {
    const { batches } = splitBatches(fs.readFileSync(path.join(partitionDir, f)));
    // A preallocated segment ends in zeros: a zero length is no batch.
    out.push(...batches.filter((b) => b.recordCount > 0));
  }
  return out;
}

/** encodeBatch's bytes (the encoder `send` used before) of `records`, as the log stamps them. */
function expectedBatch(records: ProducerRecord[], stored: RecordBatch, baseSequence: number) {
  return encodeBatch(records, {
    baseOffset: stored.baseOffset,
    producerId: stored.producerId,
    producerEpoch: stored.producerEpoch,
    baseSequence,
  });
}

/**
 * Records of every shape: keys from empty to 40 bytes (past the byte-by-byte copy of
 * short keys), null values, headers of strings and bytes, timestamps that go back and
 * forth, some with an explicit partition.
 */
function mixedRecords(n: number): ProducerRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const r: ProducerRecord = {
      key: Buffer.from("k".repeat(i % 41) + String(i)).subarray(i % 7 === 0 ? 0 : 1),
      value: i % 11 === 0 ? null : Buffer.alloc(i % 300, i & 0xff),
      timestamp: 1_796_000_000_000 + ((i * 7919) % 5000) - 2500,
    };
    if (i % 5 === 0) r.headers = { trace: `t-${i}`, raw: Buffer.from([i & 0xff, 1, 2]) };
    if (i % 13 === 0) r.partition = i % 3;
    return r;
  });
}

describe("producer.send's batches", () => {
  it("are on disk byte for byte the batches encodeBatch makes of each partition's records", async () => {
    const dir = tempDir();
    const log = await openEmbeddedLog(dir, { maintenanceIntervalMs: 0 });
    const partitions = 3;
    await log.admin.createTopic("t", { partitions });
    const records = mixedRecords(600);
    await log.producer().send("t", records);
    await log.close();
    for (let p = 0; p < partitions; p++) {
      // The partition each record belongs to, computed here from the key (Kafka's formula).
      const mine = records.filter(
        (r) => (r.partition ?? partitionForKey(r.key!, partitions)) === p,
      );
      const stored = storedBatches(dir, "t", p);
      expect(stored).toHaveLength(1);
      expect(stored[0]!.producerId).toBeGreaterThanOrEqual(0);
      expect(stored[0]!.bytes().equals(expectedBatch(mine, stored[0]!, 0))).toBe(true);
    }
  });

  it("put a keyless send into one partition, byte for byte encodeBatch's batch", async () => {
    const dir = tempDir();
    const log = await openEmbeddedLog(dir, { maintenanceIntervalMs: 0 });
    await log.admin.createTopic("t", { partitions: 3 });
    const records = mixedRecords(50).map((r) => ({ ...r, key: null, partition: undefined }));
    const [ack] = await log.producer({ idempotent: false }).send("t", records);
    await log.close();
    const stored = storedBatches(dir, "t", ack!.partition);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.producerId).toBe(-1);
    expect(stored[0]!.bytes().equals(encodeBatch(records, { baseOffset: 0 }))).toBe(true);
  });

  it("split at the batch size, each as full as the next record allows, with gapless sequences", async () => {
    const dir = tempDir();
    const service = await EmbeddedLogService.open(dir, { maintenanceIntervalMs: 0 });
    await service.createTopic("t", { partitions: 1 });
    const batchBytes = 4096;
    const producer = new ServiceProducer(service, new MetadataCache(service), batchBytes);
    const records = mixedRecords(500).map((r) => ({ ...r, partition: 0 }));
    await producer.send("t", records);
    await service.close();
    const stored = storedBatches(dir, "t", 0);
    expect(stored.length).toBeGreaterThan(5);
    let next = 0;
    for (const batch of stored) {
      const count = batch.recordCount;
      const mine = records.slice(next, next + count);
      expect(batch.bytes().equals(expectedBatch(mine, batch, next))).toBe(true);
      expect(batch.sizeInBytes).toBeLessThanOrEqual(batchBytes);
      // Full: the next record would not have fitted.
      if (next + count < records.length) {
        expect(encodeBatch(records.slice(next, next + count + 1)).length).toBeGreaterThan(
          batchBytes,
        );
      }
      next += count;
    }
    expect(next).toBe(records.length);
  });
});
