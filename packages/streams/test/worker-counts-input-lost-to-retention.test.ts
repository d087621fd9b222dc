import path from "node:path";
import { openEmbeddedLog, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { defineApp, runWorker, type WarnFields } from "../src/index.js";
import { eventually, produce, readTopic, tempDir } from "./runtime-helpers.js";

const str = Serdes.string();
const HOUR = 3_600_000;

const app = defineApp({
  applicationId: "behind",
  topology: (b) => {
    b.stream<string, string>("in", { keySerde: str, valueSerde: str })
      .mapValues((v) => v.toUpperCase())
      .to("out", { keySerde: str, valueSerde: str });
  },
});

const records = (from: number, n: number, timestamp: number) =>
  Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(`k${from + i}`),
    value: Buffer.from(`v${from + i}`.padEnd(100, ".")),
    timestamp,
  }));

describe("input that retention deletes before a worker reads it", () => {
  it("is counted per partition, warned about with the offsets skipped, and the partition's lag is measured again", async () => {
    const dir = tempDir("lost-to-retention");
    // The log's clock (retention's "now") is the test's: it jumps ahead to make the input
    // unread so far old enough to delete, while the worker and the group run on real time.
    let ahead = 0;
    const log = await openEmbeddedLog(path.join(dir, "log"), {
      now: () => Date.now() + ahead,
      maintenanceIntervalMs: 100,
    });
    const warnings: { message: string; fields: WarnFields | undefined }[] = [];
    try {
      await log.admin.createTopic("in", {
        partitions: 1,
        config: { retentionMs: HOUR, segmentBytes: 2048 },
      });
      await log.admin.createTopic("out", { partitions: 1 });
      await produce(log, "in", records(0, 100, Date.now()));
      // The worker reads the first 30 and is held there (as if it were slow): 70 unread.
      let limit = 30;
      const worker = runWorker(app, {
        log,
        stateDir: path.join(dir, "state"),
        commitIntervalMs: 50,
        inputLimit: () => limit,
        warn: (message, fields) => warnings.push({ message, fields }),
      });
      await worker.start();
      const committed = async () =>
        (await log.admin.fetchCommittedOffsets("behind", ["in"]))[0]?.offset ?? 0;
      await eventually(
        async () => ((await committed()) === 30 ? true : undefined),
        "the worker to commit the first 30",
      );
      await eventually(
        () => (worker.metrics().lag["in-0"] === 70 ? true : undefined),
        "the worker to show the 70 unread records as lag",
      );

      // Two hours later by the log's clock, every segment of the input is past retention.
      ahead = 2 * HOUR;
      const logStart = await eventually(async () => {
        const [earliest] = await log.admin.listOffsets("in", "earliest");
        return earliest!.offset > 30 ? earliest!.offset : undefined;
      }, "retention to delete the unread input");
      const [end] = await log.admin.listOffsets("in", "latest");
      const unreadDeleted = logStart - (await committed());
      expect(unreadDeleted).toBeGreaterThan(0);

      limit = Number.POSITIVE_INFINITY;
      await eventually(
        () => (worker.metrics().recordsLostToRetention > 0 ? true : undefined),
        "the worker to count the loss",
      );
      const m = worker.metrics();
      expect(m.recordsLostToRetention).toBe(unreadDeleted);
      expect(m.lostToRetention).toEqual({ "in-0": unreadDeleted });
      const lost = warnings.filter((w) => w.fields?.event === "records-lost-to-retention");
      expect(lost).toHaveLength(1);
      expect(lost[0]!.fields).toMatchObject({
        topic: "in",
        partition: 0,
        from: 30,
        to: logStart,
        skipped: unreadDeleted,
      });
      expect(lost[0]!.message).toContain(
        `${unreadDeleted} offsets of in-0 (30 to ${logStart - 1})`,
      );
      expect(lost[0]!.message).toMatch(/longer retention/);
      // What remained after the deleted range is processed; the lag is measured again
      // (the reset fetched nothing, and the lag of before would have stayed).
      await eventually(
        () => (worker.metrics().lag["in-0"] === 0 ? true : undefined),
        "the lag to be measured from the new position",
      );

      // The worker goes on with new input; nothing is counted twice.
      await produce(log, "in", records(100, 10, Date.now() + ahead));
      await eventually(
        async () => ((await committed()) === end!.offset + 10 ? true : undefined),
        "the worker to process and commit the new input",
      );
      expect(worker.metrics().recordsLostToRetention).toBe(unreadDeleted);
      await worker.stop();
      const out = (await readTopic(log, "out", str, str)).records.map((r) => r.key);
      const readable = end!.offset - logStart;
      expect(out).toEqual([
        ...records(0, 30, 0).map((r) => `${r.key}`),
        ...records(logStart, readable, 0).map((r) => `${r.key}`),
        ...records(100, 10, 0).map((r) => `${r.key}`),
      ]);
    } finally {
      await log.close();
    }
  });
});
