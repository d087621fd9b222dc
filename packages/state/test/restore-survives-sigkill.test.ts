import path from "node:path";
import { fileURLToPath } from "node:url";
import type { LogClient } from "@tributary/log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { restoreFromChangelog } from "../src/changelog-restorer.js";
import { RocksDbEngine } from "../src/rocksdb/rocksdb-engine.js";
import {
  foldChangelog,
  openLog,
  readPartition,
  removeDir,
  startFixture,
  tempDir,
} from "./helpers.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, "fixtures", "restore-child.ts");
const TOPIC = "restore-changelog";
const RECORDS = 120_000;
const CYCLES = Number(process.env.TRIBUTARY_FAULT_ROUNDS ?? 4);

/** A changelog with overwrites and deletes: 20,000 keys, every 7th record a tombstone. */
async function fillChangelog(client: LogClient): Promise<void> {
  await client.admin.createTopic(TOPIC, { partitions: 1, config: { cleanupPolicy: "compact" } });
  const producer = client.producer();
  for (let i = 0; i < RECORDS; i += 5_000) {
    const records = [];
    for (let j = i; j < i + 5_000; j++) {
      records.push({
        partition: 0,
        key: Buffer.from(`k${j % 20_000}`),
        value: j % 7 === 0 ? null : Buffer.from(`v${j}`),
      });
    }
    await producer.send(TOPIC, records);
  }
  await producer.close();
}

/** Runs the restore child and SIGKILLs it after `chunks` applied chunks plus a random delay. */
async function restoreAndKill(logDir: string, storeDir: string, chunks: number) {
  const { child, stderr, exited } = startFixture(CHILD, [logDir, storeDir, TOPIC]);
  let from = -1;
  let lastProgress = -1;
  let seen = 0;
  const finished = await new Promise<boolean>((resolve, reject) => {
    let buffered = "";
    child.stdout?.on("data", (d: Buffer) => {
      buffered += d.toString();
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const [word, n] = buffered.slice(0, nl).split(" ");
        buffered = buffered.slice(nl + 1);
        if (word === "from") from = Number(n);
        if (word === "restored") resolve(true);
        if (word === "progress") {
          lastProgress = Number(n);
          // Kill at a random point of a later chunk: its write may be in flight.
          if (++seen === chunks) {
            setTimeout(() => resolve(false), Math.floor(Math.random() * 10));
          }
        }
      }
    });
    child.once("exit", (code, signal) => {
      if (signal !== "SIGKILL") {
        if (code === 0) resolve(true);
        else reject(new Error(`restore child exited (${code}, ${signal}): ${stderr.join("")}`));
      }
    });
  });
  child.kill("SIGKILL");
  await exited;
  return { from, lastProgress, finished };
}

describe("restore killed (SIGKILL) part-way", () => {
  let root: string;

  beforeEach(() => {
    root = tempDir("restore-kill");
  });
  afterEach(() => removeDir(root));

  it("keeps data equal to the changelog up to the stored offset, resumes there, and ends equal to the whole changelog", async () => {
    const logDir = path.join(root, "log");
    const storeDir = path.join(root, "store");
    let client = await openLog(logDir);
    await fillChangelog(client);
    const changelog = await readPartition(client, TOPIC, 0);
    expect(changelog.length).toBe(RECORDS);
    await client.close();

    let previous = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const chunks = 2 + Math.floor(Math.random() * 20);
      const run = await restoreAndKill(logDir, storeDir, chunks);
      // Each run resumed from the offset stored when the one before was killed.
      expect(run.from).toBe(previous);
      const engine = await RocksDbEngine.open(storeDir, "store");
      const offset = engine.changelogOffset ?? 0;
      const local = new Map<string, string>();
      for await (const e of engine.range()) local.set(e.key.toString(), e.value.toString());
      await engine.close();
      // Never torn: the data is the changelog folded exactly up to the stored offset,
      // which is at least what the child reported applied (a write it had reported).
      expect(offset).toBeGreaterThanOrEqual(run.lastProgress + run.from);
      expect(offset).toBeLessThanOrEqual(RECORDS);
      expect(local).toEqual(foldChangelog(changelog.slice(0, offset)));
      previous = offset;
      if (run.finished) break;
    }
    expect(previous).toBeGreaterThan(0);

    client = await openLog(logDir);
    const engine = await RocksDbEngine.open(storeDir, "store");
    try {
      const result = await restoreFromChangelog(engine, { client, topic: TOPIC, partition: 0 });
      expect(result.from).toBe(previous);
      expect(result.to).toBe(RECORDS);
      expect(engine.changelogOffset).toBe(RECORDS);
      const local = new Map<string, string>();
      for await (const e of engine.range()) local.set(e.key.toString(), e.value.toString());
      expect(local).toEqual(foldChangelog(changelog));
    } finally {
      await engine.close();
      await client.close();
    }
  }, 600_000);
});
