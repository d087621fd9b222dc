import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type LogClient, openEmbeddedLog } from "@tributary/log";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ProducingRecordCollector } from "../src/runtime/producing-record-collector.js";
import { eventually } from "./runtime-helpers.js";

const mounts: string[] = [];
afterEach(() => {
  for (const m of mounts.splice(0)) {
    execFileSync("umount", ["-l", m]);
    fs.rmdirSync(m);
  }
});

/** A real file system of `bytes` that fills up (tmpfs; needs root, as CI has). */
function smallDisk(bytes: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-collector-tmpfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir], { stdio: "pipe" });
  } catch (err) {
    fs.rmdirSync(dir);
    throw new Error(`this test fills a real file system: it needs root to mount a tmpfs: ${err}`);
  }
  mounts.push(dir);
  return dir;
}

/** Writes `dir/filler` until the file system refuses one more byte; returns its path. */
function fill(dir: string): string {
  const filler = path.join(dir, "filler");
  const fd = fs.openSync(filler, "a");
  try {
    for (let chunk = 1024 * 1024; chunk >= 1; chunk = Math.floor(chunk / 4)) {
      const buf = Buffer.alloc(chunk, 1);
      for (;;) {
        try {
          fs.writeSync(fd, buf);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOSPC") break;
          throw e;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

/** Every value of each partition of `topic`, in offset order. */
async function valuesByPartition(log: LogClient, topic: string): Promise<string[][]> {
  const ends = await log.admin.listOffsets(topic, "latest");
  const consumer = log.consumer({ autoOffsetReset: "earliest" });
  const out: string[][] = ends.map(() => []);
  try {
    const tps = ends.map((e) => ({ topic, partition: e.partition }));
    consumer.assign(tps);
    for (const tp of tps) consumer.seek(tp, 0);
    while (!ends.every((e) => (consumer.position(e) ?? 0) >= e.offset)) {
      for (const f of await consumer.poll({ maxWaitMs: 100 })) {
        for (const r of f.records) out[f.partition]!.push(r.value!.toString());
      }
    }
  } finally {
    await consumer.close();
  }
  return out;
}

/**
 * The streams collector's encoded batches on a disk that fills while they are appended
 * (ENOSPC from a real tmpfs): the partitions refuse writes with a retriable DISK_FULL and
 * the producer retries them; once space is freed, flush() resolves and each partition holds
 * every record once, in the order handed in: nothing lost, nothing doubled by the retries.
 */
describe("the record collector on a full disk", () => {
  it("stores every output once and in order after the disk frees up", {
    timeout: 180_000,
  }, async () => {
    const disk = smallDisk(16 * 1024 * 1024);
    const events: string[] = [];
    const logger = pino(
      { level: "warn" },
      { write: (line: string) => events.push(JSON.parse(line).event as string) },
    );
    const log = await openEmbeddedLog(path.join(disk, "data"), {
      maintenanceIntervalMs: 0,
      logger,
    });
    const producer = log.producer({ deliveryTimeoutMs: 120_000 });
    try {
      await log.admin.createTopic("out", { partitions: 3, config: { segmentBytes: 256 * 1024 } });
      const partitions = async (t: string) => (await log.admin.describeTopic(t)).partitions.length;
      const collector = new ProducingRecordCollector(producer, partitions);
      // The first record learns the partition count; all later ones are encoded.
      collector.sendSerialized("out", Buffer.from("k0"), Buffer.from("first"), Date.now(), {});
      await collector.flush();

      const filler = fill(disk);
      // A little room back, so the disk fills in the middle of the collector's batches.
      fs.truncateSync(filler, fs.statSync(filler).size - 300 * 1024);
      const n = 30_000;
      const value = (i: number) => `${i}:`.padEnd(120, "v");
      for (let i = 0; i < n; i++) {
        collector.sendSerialized(
          "out",
          Buffer.from(`k${i % 1000}`),
          Buffer.from(value(i)),
          Date.now(),
          {},
        );
        if (i % 1000 === 999) collector.sendBuffered();
      }
      let settled: unknown = "pending";
      const flushed = collector.flush().then(
        () => {
          settled = "resolved";
        },
        (e: unknown) => {
          settled = e;
        },
      );
      await eventually(
        () => (events.includes("writes-stalled") ? true : undefined),
        "a partition refusing writes on the full disk",
        60_000,
      );
      expect(settled).toBe("pending");

      fs.rmSync(filler);
      await flushed;
      expect(settled).toBe("resolved");
      expect(collector.backlogged(0)).toBe(false);

      // Per partition, the records handed in, in order (partition found from what was read:
      // all of a key's records share one partition, checked below).
      const got = await valuesByPartition(log, "out");
      const all = got.flat();
      expect(all.length).toBe(n + 1);
      expect(new Set(all).size).toBe(n + 1);
      const partitionOfKey = new Map<number, number>();
      for (const [p, values] of got.entries()) {
        let last = -1;
        for (const v of values) {
          if (v === "first") continue;
          const i = Number(v.slice(0, v.indexOf(":")));
          expect(i).toBeGreaterThan(last);
          last = i;
          const k = i % 1000;
          expect(partitionOfKey.get(k) ?? p).toBe(p);
          partitionOfKey.set(k, p);
        }
      }
    } finally {
      await producer.close();
      await log.close();
    }
  });
});
