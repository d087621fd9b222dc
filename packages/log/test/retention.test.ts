import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { OffsetOutOfRangeError } from "../src/errors.js";
import {
  ManualClock,
  openLog,
  readAll,
  removeTempDirs,
  segmentFiles,
  seqBatch,
  seqOf,
  tempDir,
} from "./storage-helpers.js";

afterEach(removeTempDirs);

const HOUR = 3_600_000;

describe("retention", () => {
  it("deletes whole segments whose newest record is older than retention.ms, and the start offset survives reopen", async () => {
    const dir = tempDir();
    const clock = new ManualClock(10 * HOUR);
    const config = { segmentBytes: 2048, retentionMs: HOUR };
    const log = openLog(dir, config, clock.now);
    // Record timestamps climb one minute per batch.
    for (let i = 0; i < 120; i++) {
      await log.append(seqBatch(i * 2, 2, { padding: 40, timestamp: i * 60_000 }));
    }
    const before = log.segmentCount;
    expect(before).toBeGreaterThan(4);
    // Now is 2h after the first record: everything with timestamps below 1h is expired.
    const now = 2 * HOUR;
    const all = readAll(log);
    const deleted = log.applyRetention(now);
    expect(deleted).toBeGreaterThan(0);
    expect(log.segmentCount).toBe(before - deleted);
    const start = log.logStartOffset;
    // No deleted record was younger than the limit, and the first kept segment (whole
    // segments only) holds a record that is not expired.
    for (const r of all) {
      if (r.offset < start) expect(now - r.timestamp).toBeGreaterThan(HOUR);
    }
    const kept = readAll(log);
    expect(kept[0]!.offset).toBe(start);
    const firstSegmentEnd = log.segmentCount > 1 ? log.segmentBaseOffsets[1]! : log.logEndOffset;
    expect(
      kept.filter((r) => r.offset < firstSegmentEnd).some((r) => now - r.timestamp <= HOUR),
    ).toBe(true);
    expect(() => log.read(start - 1, 100)).toThrow(OffsetOutOfRangeError);
    expect(log.logEndOffset).toBe(240);
    await log.close();

    const reopened = openLog(dir, config, clock.now);
    expect(reopened.logStartOffset).toBe(start);
    expect(reopened.logEndOffset).toBe(240);
    expect(readAll(reopened).map(seqOf)).toEqual(kept.map(seqOf));
    await reopened.close();
  });

  it("keeps the log end offset when every segment expires", async () => {
    const dir = tempDir();
    const config = { segmentBytes: 2048, retentionMs: HOUR };
    const log = openLog(dir, config);
    for (let i = 0; i < 40; i++)
      await log.append(seqBatch(i * 2, 2, { padding: 40, timestamp: 1000 }));
    const deleted = log.applyRetention(5 * HOUR);
    expect(deleted).toBeGreaterThan(1);
    expect(log.segmentCount).toBe(1);
    expect(log.logStartOffset).toBe(80);
    expect(log.logEndOffset).toBe(80);
    expect(log.sizeInBytes).toBe(0);
    expect(segmentFiles(dir)).toEqual([`${"80".padStart(20, "0")}.log`]);
    expect(log.read(80, 100).records.length).toBe(0);
    await log.close();

    const reopened = openLog(dir, config);
    expect(reopened.logStartOffset).toBe(80);
    expect(reopened.logEndOffset).toBe(80);
    expect(await reopened.append(seqBatch(80, 1))).toEqual({ baseOffset: 80, lastOffset: 80 });
    expect(readAll(reopened).map(seqOf)).toEqual([80]);
    await reopened.close();
  });

  it("deletes the oldest whole segments while the rest still hold retention.bytes", async () => {
    const dir = tempDir();
    const config = { segmentBytes: 2048, retentionMs: -1, retentionBytes: 5000 };
    const log = openLog(dir, config);
    for (let i = 0; i < 100; i++) await log.append(seqBatch(i * 2, 2, { padding: 40 }));
    const sizeBefore = log.sizeInBytes;
    const files = segmentFiles(dir);
    const deleted = log.applyRetention();
    expect(deleted).toBeGreaterThan(0);
    expect(segmentFiles(dir)).toEqual(files.slice(deleted));
    expect(log.sizeInBytes).toBeGreaterThanOrEqual(5000);
    expect(log.sizeInBytes).toBeLessThan(sizeBefore);
    // One more segment gone would take it under the limit.
    const firstSegmentBytes = fs.statSync(path.join(dir, segmentFiles(dir)[0]!)).size;
    expect(log.sizeInBytes - firstSegmentBytes).toBeLessThan(5000);
    expect(log.applyRetention()).toBe(0);
    const kept = readAll(log);
    expect(kept[0]!.offset).toBe(log.logStartOffset);
    expect(kept.at(-1)!.offset).toBe(199);
    await log.close();
    const reopened = openLog(dir, config);
    expect(reopened.logStartOffset).toBe(kept[0]!.offset);
    await reopened.close();
  });

  it("keeps everything when neither limit is reached", async () => {
    const log = openLog(tempDir(), {
      segmentBytes: 2048,
      retentionMs: HOUR,
      retentionBytes: 1 << 20,
    });
    for (let i = 0; i < 50; i++) await log.append(seqBatch(i, 1, { padding: 40, timestamp: 0 }));
    expect(log.applyRetention(HOUR)).toBe(0);
    expect(log.logStartOffset).toBe(0);
    await log.close();
  });
});
