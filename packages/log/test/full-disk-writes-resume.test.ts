import fs from "node:fs";
import path from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { StorageError, TributaryError } from "../src/errors.js";
import { openEmbeddedLog } from "../src/embedded-log.js";
import type { PartitionLog } from "../src/storage/partition-log.js";
import { eventually } from "./broker-helpers.js";
import type { FlushPolicy } from "../src/topic-config.js";
import {
  fillDisk,
  mountTmpfs,
  openLog,
  readAll,
  seqBatch,
  seqOf,
  seqValue,
  unmountAll,
} from "./storage-helpers.js";

afterEach(unmountAll);

/** Appends 10-record batches from `next` until one fails; returns the failure and the next seq. */
async function appendUntilFailure(
  log: PartitionLog,
  next: number,
): Promise<{ error: unknown; next: number; failed: Buffer }> {
  for (;;) {
    const batch = seqBatch(next, 10, { padding: 200 });
    try {
      await log.append(batch);
      next += 10;
    } catch (error) {
      return { error, next, failed: batch };
    }
  }
}

/** Retries `append(batch)` until it succeeds (the partition's backoff is at most 2 s). */
async function appendWhenWritable(log: PartitionLog, batch: Buffer): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await log.append(batch);
      return;
    } catch (err) {
      if (!(err instanceof StorageError) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function expectSequence(log: PartitionLog, count: number): void {
  const seqs = readAll(log).map(seqOf);
  expect(seqs.length).toBe(count);
  expect(seqs).toEqual(Array.from({ length: count }, (_, i) => i));
}

describe("a partition on a full disk", () => {
  for (const flushPolicy of ["os", "always"] as FlushPolicy[]) {
    it(`refuses appends with a retriable DISK_FULL, stores none of a failed one, and takes appends again in order once space is freed (flush ${flushPolicy})`, async () => {
      const disk = mountTmpfs(2 * 1024 * 1024);
      const dir = path.join(disk, "t-0");
      // Small segments: the disk fills across several rolls, and a roll may be what fails.
      let log = openLog(dir, { segmentBytes: 32 * 1024, flushPolicy });
      const filler = fillDisk(disk);
      fs.truncateSync(filler, fs.statSync(filler).size - 200 * 1024);

      const full = await appendUntilFailure(log, 0);
      expect(full.next).toBeGreaterThan(0);
      expect(full.error).toBeInstanceOf(StorageError);
      const error = full.error as StorageError;
      expect(error.code).toBe("DISK_FULL");
      expect(error.retriable).toBe(true);
      expect(error.message).toMatch(/ENOSPC/);
      expect(error.message).toMatch(/free space/);
      // Nothing of the failed append was stored or is served, and the files hold no torn bytes.
      expect(log.logEndOffset).toBe(full.next);
      expectSequence(log, full.next);
      const onDisk = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".log"))
        .reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
      expect(onDisk).toBe(log.sizeInBytes);
      // Still full: the same append is refused the same way, whether it comes within the
      // partition's backoff or after it (a loaded machine) when the write is tried again.
      await expect(log.append(full.failed)).rejects.toMatchObject({
        code: "DISK_FULL",
      });
      expect(log.logEndOffset).toBe(full.next);

      fs.rmSync(filler);
      await appendWhenWritable(log, full.failed);
      let next = full.next + 10;
      for (let i = 0; i < 30; i++, next += 10)
        await log.append(seqBatch(next, 10, { padding: 200 }));
      expectSequence(log, next);

      await log.close();
      log = openLog(dir, { segmentBytes: 32 * 1024, flushPolicy });
      expectSequence(log, next);
      await log.close();
    });
  }

  it("over random rounds of fill and free, with appends of several batches that span segment rolls, keeps every acknowledged record in order and none of a failed append", async () => {
    // Bounded by rounds and seconds, whichever comes first (scripts/fault-loops.sh sets more).
    const rounds = Number(process.env.TRIBUTARY_FULL_DISK_ROUNDS ?? 12);
    const until = Date.now() + 1000 * Number(process.env.TRIBUTARY_FAULT_SECONDS ?? 60);
    // Each round keeps what it appended (up to 96 KiB): room for all of it.
    const disk = mountTmpfs(1024 * 1024 + rounds * 128 * 1024);
    const dir = path.join(disk, "t-0");
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const config = { segmentBytes: 4096 + random(28 * 1024), indexIntervalBytes: 256 };
    let log = openLog(dir, config);
    let next = 0;
    for (let round = 0; round < rounds && Date.now() < until; round++) {
      const roundStart = next;
      const filler = fillDisk(disk);
      fs.truncateSync(filler, Math.max(0, fs.statSync(filler).size - random(96 * 1024)));
      let failed: Buffer | null = null;
      while (failed === null) {
        // 1 to 4 batches in one append: a failure part-way must undo the earlier ones.
        const parts: Buffer[] = [];
        let n = next;
        for (let b = 1 + random(4); b > 0; b--) {
          const count = 1 + random(20);
          parts.push(seqBatch(n, count, { padding: random(400) }));
          n += count;
        }
        const append = Buffer.concat(parts);
        try {
          await log.append(append);
          next = n;
        } catch (err) {
          expect(err).toMatchObject({ code: "DISK_FULL", retriable: true });
          failed = append;
        }
      }
      expect(log.logEndOffset).toBe(next);
      fs.rmSync(filler);
      await appendWhenWritable(log, failed);
      next = log.logEndOffset;
      const seqs = readAll(log, roundStart).map(seqOf);
      expect(seqs).toEqual(Array.from({ length: next - roundStart }, (_, i) => roundStart + i));
    }
    expectSequence(log, next);
    await log.close();
    log = openLog(dir, config);
    expectSequence(log, next);
    await log.close();
  }, 600_000);

  it("a producer's send that meets a full disk succeeds once space is freed, and nothing is lost", async () => {
    const disk = mountTmpfs(2 * 1024 * 1024);
    const events: { event?: string; errno?: string }[] = [];
    const logger = pino(
      { level: "info" },
      { write: (line: string) => events.push(JSON.parse(line)) },
    );
    const client = await openEmbeddedLog(path.join(disk, "data"), {
      maintenanceIntervalMs: 0,
      logger,
    });
    try {
      await client.admin.createTopic("t", { partitions: 1, config: { segmentBytes: 32 * 1024 } });
      const producer = client.producer({ deliveryTimeoutMs: 60_000 });
      const filler = fillDisk(disk);
      const send = (first: number, n: number) =>
        producer.send(
          "t",
          Array.from({ length: n }, (_, i) => ({ key: null, value: seqValue(first + i, 200) })),
        );
      // Retried by the producer while the disk stays full; the partition says why, once.
      const pending = send(0, 50);
      await eventually(() => events.find((e) => e.event === "writes-stalled"), "writes-stalled");
      expect(events.find((e) => e.event === "writes-stalled")).toMatchObject({ errno: "ENOSPC" });
      fs.rmSync(filler);
      expect(await pending).toEqual([{ topic: "t", partition: 0, baseOffset: 0, lastOffset: 49 }]);
      expect(events.some((e) => e.event === "writes-resumed")).toBe(true);
      await send(50, 50);

      const consumer = client.consumer({ groupId: "g", autoOffsetReset: "earliest" });
      await consumer.subscribe(["t"]);
      const seen: number[] = [];
      await eventually(async () => {
        for (const p of await consumer.poll({ maxWaitMs: 200 })) seen.push(...p.records.map(seqOf));
        return seen.length >= 100 ? true : undefined;
      }, "100 records consumed");
      expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
      await consumer.close();
    } finally {
      await client.close();
    }
  });

  it("says what to do in an error a producer sees as retriable", () => {
    const err = new StorageError("x", Object.assign(new Error("no space"), { code: "ENOSPC" }));
    expect(err).toBeInstanceOf(TributaryError);
    expect(err).toMatchObject({ code: "DISK_FULL", retriable: true, errno: "ENOSPC" });
  });
});
