import os from "node:os";
import path from "node:path";
import fs from "node:fs";
import { Admin } from "@platformatic/kafka";
import { Serdes } from "@tributary/log";
import { defineApp, runWorker, type WarnFields } from "../../streams/src/index.js";
import { describe, expect, it } from "vitest";
import { kafkaBrokers, suiteLog } from "./kafka-helpers.js";

kafkaBrokers();

const str = Serdes.string();

const app = defineApp({
  applicationId: "behind",
  topology: (b) => {
    b.stream<string, string>("in", { keySerde: str, valueSerde: str })
      .mapValues((v) => v.toUpperCase())
      .to("out", { keySerde: str, valueSerde: str });
  },
});

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Kafka's log start moves past a group's committed offset (here by DeleteRecords, which
 * moves it as retention does, without waiting for the broker's 5-minute retention check):
 * the worker's Kafka consumer gets OFFSET_OUT_OF_RANGE, reports the reset, and the worker
 * counts exactly the offsets it never read.
 */
describe("a worker on Kafka whose committed input was deleted", () => {
  const suite = suiteLog("lost");

  it("counts the offsets between its committed position and the new log start, and warns", async () => {
    const { log, namespace } = suite;
    await log.admin.createTopic("in", { partitions: 1 });
    await log.admin.createTopic("out", { partitions: 1 });
    const producer = log.producer();
    await producer.send(
      "in",
      Array.from({ length: 100 }, (_, i) => ({
        key: Buffer.from(`k${i}`),
        value: Buffer.from(`v${i}`),
      })),
    );
    await producer.close();
    // The app read 20 records, then stopped (its group holds offset 20).
    const committer = log.consumer({ groupId: "behind" });
    committer.assign([{ topic: "in", partition: 0 }]);
    await committer.commit([{ topic: "in", partition: 0, offset: 20 }]);
    await committer.close();

    const admin = new Admin({ clientId: "deleter", bootstrapBrokers: [kafkaBrokers()] });
    let logStart: number;
    try {
      const [deleted] = await admin.deleteRecords({
        topics: [{ name: `${namespace}.in`, partitions: [{ partition: 0, offset: 60n }] }],
      });
      logStart = Number(deleted!.partitions[0]!.lowWatermark);
    } finally {
      await admin.close();
    }
    expect(logStart).toBe(60);
    const unreadDeleted = logStart - 20;

    const warnings: WarnFields[] = [];
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lost-"));
    const worker = runWorker(app, {
      log,
      stateDir,
      commitIntervalMs: 100,
      warn: (_m, fields) => {
        if (fields !== undefined) warnings.push(fields);
      },
    });
    try {
      await worker.start();
      await until("the worker to commit the input's end", async () => {
        const [c] = await log.admin.fetchCommittedOffsets("behind", ["in"]);
        return c?.offset === 100 ? true : undefined;
      });
      const m = worker.metrics();
      expect(m.recordsLostToRetention).toBe(unreadDeleted);
      expect(m.lostToRetention).toEqual({ "in-0": unreadDeleted });
      expect(m.recordsProcessed).toBe(100 - logStart);
      expect(warnings.filter((w) => w.event === "records-lost-to-retention")).toEqual([
        {
          event: "records-lost-to-retention",
          topic: "in",
          partition: 0,
          from: 20,
          to: logStart,
          skipped: unreadDeleted,
        },
      ]);
    } finally {
      await worker.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
