import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PartitionLog } from "../src/storage/partition-log.js";
import type { LogRecord } from "../src/record.js";
import { encodeBatch, splitBatches } from "../src/record-batch.js";
import { resolveTopicConfig, type TopicConfig } from "../src/topic-config.js";

/** Shared helpers for the storage tests: temp dirs, configs, sequence-numbered batches. */

const dirs: string[] = [];

export function tempDir(prefix = "tributary-log-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export function testConfig(overrides: Partial<TopicConfig> = {}): TopicConfig {
  return resolveTopicConfig({ segmentBytes: 64 * 1024, indexIntervalBytes: 512, ...overrides });
}

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public time = 1_700_000_000_000) {}
  readonly now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

export function openLog(
  dir: string,
  config: Partial<TopicConfig> = {},
  now?: () => number,
): PartitionLog {
  return PartitionLog.open(dir, {
    topic: "t",
    partition: 0,
    config: testConfig(config),
    ...(now ? { now } : {}),
  });
}

/** The value a sequence-numbered record carries: `seq:<n>` and padding, so loss is visible. */
export function seqValue(seq: number, padding = 0): Buffer {
  return Buffer.from(`seq:${seq}:${"x".repeat(padding)}`);
}

export function seqOf(record: LogRecord): number {
  const m = /^seq:(\d+):/.exec(record.value?.toString() ?? "");
  if (m === null) throw new Error(`record at ${record.offset} carries no sequence number`);
  return Number(m[1]);
}

/** A batch of `count` records numbered from `first`; timestamps `timestamp + i` if given. */
export function seqBatch(
  first: number,
  count: number,
  options: { timestamp?: number; padding?: number; keys?: boolean } = {},
): Buffer {
  const records = [];
  for (let i = 0; i < count; i++) {
    records.push({
      key: options.keys ? Buffer.from(`k${first + i}`) : null,
      value: seqValue(first + i, options.padding ?? 0),
      ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp + i }),
    });
  }
  return encodeBatch(records);
}

/** Every record from `from` to the high watermark, CRC-checked, copied out. */
export function readAll(log: PartitionLog, from = log.logStartOffset): LogRecord[] {
  const out: LogRecord[] = [];
  let offset = from;
  while (offset < log.highWatermark) {
    const { records } = log.read(offset, 64 * 1024);
    const { batches, bytesUsed } = splitBatches(records);
    if (batches.length === 0 || bytesUsed !== records.length) {
      throw new Error(`read at ${offset} returned no whole batch`);
    }
    for (const batch of batches) {
      batch.verify();
      for (const r of batch.records()) {
        if (r.offset >= offset) out.push({ ...r, value: r.value && Buffer.from(r.value) });
      }
      offset = batch.nextOffset;
    }
  }
  return out;
}

export function segmentFiles(dir: string, suffix = ".log"): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith(suffix))
    .sort();
}

/**
 * A tmpfs of `bytes` mounted on a new temp dir, for tests that need a disk that really
 * fills up (ENOSPC from the kernel, not a mock). Needs root and mount(8), as CI has: says
 * so when it cannot mount. Unmounted by `unmountAll`.
 */
export function mountTmpfs(bytes: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-tmpfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir], {
      stdio: ["ignore", "ignore", "pipe"],
    });
  } catch (err) {
    fs.rmdirSync(dir);
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(
      `this test fills a real file system and needs to mount a tmpfs (run it as root, as CI does): mount failed: ${stderr || (err as Error).message}`,
    );
  }
  mounts.push(dir);
  return dir;
}

const mounts: string[] = [];

export function unmountAll(): void {
  for (const dir of mounts.splice(0)) {
    execFileSync("umount", ["-l", dir]);
    fs.rmdirSync(dir);
  }
}

/**
 * Fills the file system holding `dir` to its last byte with `dir/filler` (ever smaller
 * writes until even one byte gets ENOSPC) and returns the filler's path: delete it to free
 * the space.
 */
export function fillDisk(dir: string): string {
  const filler = path.join(dir, "filler");
  const fd = fs.openSync(filler, "a");
  try {
    for (let chunk = 1024 * 1024; chunk >= 1; chunk = Math.floor(chunk / 4)) {
      const buf = Buffer.alloc(chunk, 0x5a);
      for (;;) {
        try {
          fs.writeSync(fd, buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
          break;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}
