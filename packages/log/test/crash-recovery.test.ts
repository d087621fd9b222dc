import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { CLEAN_SHUTDOWN_FILE } from "../src/storage/log-recovery.js";
import { PartitionLog } from "../src/storage/partition-log.js";
import { resolveTopicConfig } from "../src/topic-config.js";
import {
  openLog,
  readAll,
  removeTempDirs,
  segmentFiles,
  seqBatch,
  seqOf,
  tempDir,
} from "./storage-helpers.js";

afterEach(removeTempDirs);

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, "fixtures", "appender-always.ts");

/** Starts the appender, waits for `acks` acknowledgements, SIGKILLs it; returns the highest acked offset. */
function runAndKill(dir: string, acks: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", fixture, dir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let maxAck = -1;
    let seen = 0;
    let buffered = "";
    let stderr = "";
    let killed = false;
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      buffered += chunk;
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith("ack ")) {
          maxAck = Math.max(maxAck, Number(line.slice(4)));
          if (++seen >= acks && !killed) {
            killed = true;
            child.kill("SIGKILL");
          }
        }
        nl = buffered.indexOf("\n");
      }
    });
    child.stderr!.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("exit", (_code, signal) => {
      if (signal !== "SIGKILL") reject(new Error(`appender exited on its own: ${stderr}`));
      else resolve(maxAck);
    });
  });
}

async function verify(dir: string, mustHold: number): Promise<number> {
  const log = PartitionLog.open(dir, {
    topic: "crash",
    partition: 0,
    config: resolveTopicConfig({
      flushPolicy: "always",
      segmentBytes: 16 * 1024,
      indexIntervalBytes: 256,
    }),
  });
  const records = readAll(log, 0);
  // Gapless, in order, no duplicates, payload intact: record n carries sequence number n.
  for (let i = 0; i < records.length; i++) {
    expect(records[i]!.offset).toBe(i);
    expect(seqOf(records[i]!)).toBe(i);
    expect(records[i]!.value!.length).toBe(`seq:${i}:`.length + (i % 50));
  }
  expect(log.logEndOffset).toBe(records.length);
  // Every acknowledged record survived.
  expect(records.length).toBeGreaterThan(mustHold);
  const end = log.logEndOffset;
  await log.close();
  return end;
}

const FAULT_ROUNDS = Number(process.env.TRIBUTARY_FAULT_ROUNDS ?? 24);
const FAULT_MS = Number(process.env.TRIBUTARY_FAULT_SECONDS ?? 35) * 1000;

describe("crash recovery", () => {
  it(
    "keeps every acknowledged record through repeated SIGKILLs of a flush=always appender",
    async () => {
      const dir = tempDir();
      const started = Date.now();
      let maxAcked = -1;
      let iterations = 0;
      // Bounded by count and by wall time, so a slow machine still finishes. The fault-loop
      // script (scripts/fault-loops.sh) runs far more rounds through these variables.
      while (iterations < FAULT_ROUNDS && Date.now() - started < FAULT_MS) {
        const acks = 1 + Math.floor(Math.random() * 400);
        maxAcked = Math.max(maxAcked, await runAndKill(dir, acks));
        iterations++;
        // Every other round the next child opens the crashed log itself (unclean -> unclean).
        if (iterations % 2 === 0) {
          expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(false);
          await verify(dir, maxAcked);
        }
      }
      expect(iterations).toBeGreaterThanOrEqual(6);
      const end = await verify(dir, maxAcked);
      expect(end).toBeGreaterThan(maxAcked);
      expect(segmentFiles(dir).length).toBeGreaterThan(1);
    },
    FAULT_MS + 30_000,
  );

  it("truncates garbage appended to the active segment after a clean close, and appends continue", async () => {
    const dir = tempDir();
    let log = openLog(dir);
    for (let i = 0; i < 20; i++) await log.append(seqBatch(i * 3, 3, { padding: 20 }));
    await log.close();
    const active = path.join(dir, segmentFiles(dir).at(-1)!);
    const goodSize = fs.statSync(active).size;
    fs.appendFileSync(active, Buffer.from("this is not a record batch at all, just junk bytes"));
    log = openLog(dir);
    expect(fs.statSync(active).size).toBe(goodSize);
    expect(log.logEndOffset).toBe(60);
    await log.append(seqBatch(60, 2));
    expect(readAll(log).map(seqOf)).toEqual([...Array(62).keys()]);
    await log.close();
  });

  it("truncates half a batch left by a crash mid-write, and appends continue", async () => {
    const dir = tempDir();
    let log = openLog(dir);
    for (let i = 0; i < 20; i++) await log.append(seqBatch(i * 3, 3, { padding: 20 }));
    await log.close();
    fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
    const active = path.join(dir, segmentFiles(dir).at(-1)!);
    const goodSize = fs.statSync(active).size;
    const next = seqBatch(60, 5, { padding: 20 });
    next.writeUInt32BE(60, 4); // what the log would have stamped
    fs.appendFileSync(active, next.subarray(0, Math.floor(next.length / 2)));
    log = openLog(dir);
    expect(fs.statSync(active).size).toBe(goodSize);
    expect(log.logEndOffset).toBe(60);
    expect(await log.append(seqBatch(60, 5))).toEqual({ baseOffset: 60, lastOffset: 64 });
    expect(readAll(log).map(seqOf)).toEqual([...Array(65).keys()]);
    await log.close();
  });
});
