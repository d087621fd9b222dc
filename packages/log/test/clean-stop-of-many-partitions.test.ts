import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { hasCleanShutdownMarker } from "../src/storage/log-recovery.js";
import { LogSegment } from "../src/storage/log-segment.js";
import { readCheckpoint } from "../src/storage/partition-checkpoint.js";
import { encodeBatch, splitBatches } from "../src/record-batch.js";
import { TopicRegistry } from "../src/storage/topic-registry.js";
import { tempDir } from "./registry-helpers.js";

const PARTITIONS = 120;
const BATCHES = 6;
const PER_BATCH = 10;

describe("a clean stop of many partitions", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const c of cleanups.splice(0)) c();
  });

  it("closes them concurrently, leaving every record, index, checkpoint and marker in place, and the reopen scans nothing", async () => {
    const { dir, cleanup } = tempDir("clean-stop-");
    cleanups.push(cleanup);
    const registry = TopicRegistry.open(dir);
    // flush "os" and small segments: at the stop every partition has unflushed appends in
    // its active segment and sealed segments behind it.
    registry.create("many", {
      partitions: PARTITIONS,
      config: { segmentBytes: 4096, flushPolicy: "os" },
    });
    const value = Buffer.alloc(120, 7);
    for (let p = 0; p < PARTITIONS; p++) {
      const log = registry.partition("many", p);
      for (let b = 0; b < BATCHES; b++) {
        const records = Array.from({ length: PER_BATCH }, (_, i) => ({
          key: Buffer.from(`p${p}-${b * PER_BATCH + i}`),
          value,
        }));
        await log.append(encodeBatch(records));
      }
    }
    expect(registry.partition("many", 0).segmentCount).toBeGreaterThan(1);
    // The rolls' flushes are done; one more record each, too small to roll, is appended
    // and left unflushed: the stop alone makes it durable.
    for (let p = 0; p < PARTITIONS; p++) await registry.partition("many", p).flush();
    for (let p = 0; p < PARTITIONS; p++) {
      const key = Buffer.from(`p${p}-${BATCHES * PER_BATCH}`);
      await registry.partition("many", p).append(encodeBatch([{ key, value: null }]));
    }

    // The stop must not hold the event loop for all partitions at once (each close waits
    // for its fsyncs off the loop): the first turn of the loop after the stop began finds
    // partitions still closing.
    const dirs = Array.from({ length: PARTITIONS }, (_, p) => path.join(dir, `many-${p}`));
    const markedAtFirstTurn = new Promise<number>((resolve) =>
      setImmediate(() => resolve(dirs.filter(hasCleanShutdownMarker).length)),
    );
    await registry.close();
    expect(await markedAtFirstTurn).toBeLessThan(PARTITIONS);

    const end = BATCHES * PER_BATCH + 1;
    for (const d of dirs) {
      expect(hasCleanShutdownMarker(d), d).toBe(true);
      expect(readCheckpoint(d).checkpoint?.recoveryPoint, d).toBe(end);
      expect(
        fs.readdirSync(d).filter((f) => f.endsWith(".tmp")),
        d,
      ).toEqual([]);
    }

    // Reopened: nothing is re-verified (the indexes and checkpoint are trusted), and every
    // record is there.
    const rebuild = vi.spyOn(LogSegment.prototype, "rebuild");
    const reopened = TopicRegistry.open(dir);
    try {
      expect(rebuild).not.toHaveBeenCalled();
      for (let p = 0; p < PARTITIONS; p++) {
        const log = reopened.partition("many", p);
        expect(log.logEndOffset).toBe(end);
        const keys: string[] = [];
        for (let offset = 0; offset < end; ) {
          const { records } = log.read(offset, 1 << 20);
          for (const batch of splitBatches(records).batches) {
            batch.forEach((r) => {
              if (r.offset >= offset) keys.push(r.key!.toString());
            });
            offset = batch.nextOffset;
          }
        }
        expect(keys).toEqual(Array.from({ length: end }, (_, i) => `p${p}-${i}`));
      }
    } finally {
      await reopened.close();
    }
  });

  it("leaves an idle partition's segment files as they are: nothing appended since a clean open, nothing rewritten", async () => {
    const { dir, cleanup } = tempDir("idle-stop-");
    cleanups.push(cleanup);
    const registry = TopicRegistry.open(dir);
    registry.create("idle", { partitions: 1, config: { flushPolicy: "os" } });
    await registry.partition("idle", 0).append(encodeBatch([{ value: Buffer.from("kept") }]));
    await registry.close();
    const partitionDir = path.join(dir, "idle-0");
    const segmentFiles = () =>
      fs
        .readdirSync(partitionDir)
        .filter((f) => /\.(log|index|timeindex)$/.test(f))
        .map((f) => `${f} ${fs.statSync(path.join(partitionDir, f)).mtimeMs}`)
        .sort();
    const before = segmentFiles();

    await TopicRegistry.open(dir).close();
    expect(segmentFiles()).toEqual(before);
    expect(hasCleanShutdownMarker(partitionDir)).toBe(true);
    const rebuild = vi.spyOn(LogSegment.prototype, "rebuild");
    const again = TopicRegistry.open(dir);
    expect(rebuild).not.toHaveBeenCalled();
    expect(again.partition("idle", 0).logEndOffset).toBe(1);
    await again.close();
  });
});
