import path from "node:path";
import { openEmbeddedLog, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { defineApp, runWorker } from "../src/index.js";
import { eventually, produce, readTopic, tempDir } from "./runtime-helpers.js";

const str = Serdes.string();

const app = defineApp({
  applicationId: "limited",
  topology: (b) => {
    b.stream<string, string>("in", { keySerde: str, valueSerde: str })
      .mapValues((v) => v.toUpperCase())
      .to("out", { keySerde: str, valueSerde: str });
  },
});

const records = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(`k${from + i}`),
    value: Buffer.from(`v${from + i}`),
  }));

describe("a worker's input limit (what a side-by-side version trails the live app with)", () => {
  it("processes and commits input up to the limit, no further; goes on when it moves; stopReadingInputs holds it where it stands", async () => {
    const dir = tempDir("input-limit");
    const log = await openEmbeddedLog(path.join(dir, "log"));
    try {
      await log.admin.createTopic("in", { partitions: 1 });
      await log.admin.createTopic("out", { partitions: 1 });
      await produce(log, "in", records(0, 100));
      let limit = 30;
      const worker = runWorker(app, {
        log,
        stateDir: path.join(dir, "state"),
        commitIntervalMs: 50,
        inputLimit: () => limit,
      });
      await worker.start();
      const committed = async () =>
        (await log.admin.fetchCommittedOffsets("limited", ["in"]))[0]?.offset ?? 0;
      const out = async () => (await readTopic(log, "out", str, str)).records;

      // The 100 records come in one fetch: without the limit the first commit says 100.
      await eventually(
        async () => ((await committed()) === 30 ? true : undefined),
        "the worker to commit up to the limit",
      );
      expect((await out()).map((r) => r.key)).toEqual(records(0, 30).map((r) => `${r.key}`));

      limit = 60;
      await eventually(
        async () => ((await committed()) === 60 ? true : undefined),
        "the worker to follow the limit",
      );
      expect((await out()).map((r) => r.key)).toEqual(records(0, 60).map((r) => `${r.key}`));

      // Held where it stands: the limit gone, new input seen (lag) but not processed.
      await worker.stopReadingInputs();
      limit = Number.POSITIVE_INFINITY;
      await produce(log, "in", records(100, 10));
      // Several commit cycles later (each one a poll), nothing more is processed. (The lag
      // of a held partition is not refreshed: it is not fetched while paused.)
      const commits = worker.metrics().commits;
      await eventually(
        async () => (worker.metrics().commits >= commits + 3 ? true : undefined),
        "the worker to go through three more commit cycles",
      );
      expect(await committed()).toBe(60);
      expect((await out()).length).toBe(60);
      await worker.stop();
      expect(await committed()).toBe(60);
    } finally {
      await log.close();
    }
  });
});
