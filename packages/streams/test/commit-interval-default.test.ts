import fs from "node:fs";
import path from "node:path";
import { openEmbeddedLog } from "@tributary/log";
import { afterAll, describe, expect, it } from "vitest";
import { defineApp, type ProcessingGuarantee, runWorker, Serdes } from "../src/index.js";
import { tempDir } from "./runtime-helpers.js";

const dir = tempDir("commit-interval");
const log = await openEmbeddedLog(path.join(dir, "log"));
afterAll(async () => {
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
await log.admin.createTopic("ci-in", { partitions: 1 });
await log.admin.createTopic("ci-out", { partitions: 1 });

async function intervalOf(
  id: string,
  processingGuarantee: ProcessingGuarantee,
  commitIntervalMs?: number,
): Promise<number> {
  const app = defineApp({
    applicationId: id,
    config: { processingGuarantee },
    topology: (b) => {
      b.stream("ci-in", { keySerde: Serdes.string(), valueSerde: Serdes.string() }).to("ci-out");
    },
  });
  const worker = runWorker(app, {
    log,
    stateDir: path.join(dir, id),
    ...(commitIntervalMs === undefined ? {} : { commitIntervalMs }),
  });
  await worker.start();
  try {
    return worker.metrics().commitIntervalMs!;
  } finally {
    await worker.stop();
  }
}

describe("the commit interval", () => {
  it("defaults to 1000 ms at-least-once and 100 ms exactly-once (a read_committed reader waits for the commit), and an explicit one wins", async () => {
    expect(await intervalOf("ci-alos", "at_least_once")).toBe(1000);
    expect(await intervalOf("ci-eos", "exactly_once")).toBe(100);
    expect(await intervalOf("ci-eos-set", "exactly_once", 2000)).toBe(2000);
    expect(await intervalOf("ci-alos-set", "at_least_once", 250)).toBe(250);
  });
});
