import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { CorruptRecordError } from "../src/errors.js";
import { LogSegment } from "../src/storage/log-segment.js";
import { parseSegmentFileName, segmentFileName } from "../src/storage/segment-files.js";
import { OffsetIndex } from "../src/storage/offset-index.js";
import { readInt64, setBaseOffset, splitBatches } from "../src/record-batch.js";
import { TimeIndex } from "../src/storage/time-index.js";
import { removeTempDirs, seqBatch, tempDir } from "./storage-helpers.js";

afterEach(removeTempDirs);

/** Appends `n` two-record batches with rising timestamps; returns each batch's position. */
function fill(segment: LogSegment, n: number, firstOffset = segment.baseOffset): number[] {
  const positions: number[] = [];
  for (let i = 0; i < n; i++) {
    const offset = firstOffset + i * 2;
    const batch = seqBatch(offset, 2, { padding: 30, timestamp: 1000 + i * 10 });
    setBaseOffset(batch, 0, offset);
    positions.push(segment.size);
    segment.append(batch, 0, batch.length, 0);
  }
  return positions;
}

describe("segment file names", () => {
  it("pads base offsets to 20 digits and parses them back", () => {
    expect(segmentFileName(1234, ".log")).toBe("00000000000000001234.log");
    expect(parseSegmentFileName("00000000000000001234.log")).toBe(1234);
    expect(parseSegmentFileName("00000000000000001234.index")).toBeNull();
    expect(parseSegmentFileName("1234.log")).toBeNull();
  });
});

describe("OffsetIndex", () => {
  it("finds the entry with the largest offset at or below the target", () => {
    const index = new OffsetIndex("/nonexistent", 100);
    expect(index.lookup(150)).toEqual({ offset: 100, position: 0 });
    index.append(110, 500);
    index.append(130, 900);
    index.append(131, 1000);
    expect(index.lookup(105)).toEqual({ offset: 100, position: 0 });
    expect(index.lookup(110)).toEqual({ offset: 110, position: 500 });
    expect(index.lookup(129)).toEqual({ offset: 110, position: 500 });
    expect(index.lookup(10_000)).toEqual({ offset: 131, position: 1000 });
    expect(() => index.append(131, 2000)).toThrow(RangeError);
    index.truncateToPosition(900);
    expect(index.lookup(10_000)).toEqual({ offset: 110, position: 500 });
  });

  it("refuses to load a file that fails the sanity check", () => {
    const dir = tempDir();
    const index = new OffsetIndex(`${dir}/x.index`, 0);
    index.append(5, 100);
    index.append(9, 200);
    index.writeFile();
    expect(new OffsetIndex(index.path, 0).load(1000)).toBe(true);
    expect(new OffsetIndex(index.path, 0).load(150)).toBe(false); // points past the log
    fs.appendFileSync(index.path, Buffer.from([1, 2, 3]));
    expect(new OffsetIndex(index.path, 0).load(1000)).toBe(false);
    expect(new OffsetIndex(`${dir}/missing.index`, 0).load(1000)).toBe(false);
  });
});

describe("TimeIndex", () => {
  it("adds entries only when the timestamp grows and looks up the last entry below the target", () => {
    const index = new TimeIndex("/nonexistent", 0);
    expect(index.maybeAppend(100, 0)).toBe(true);
    expect(index.maybeAppend(100, 5)).toBe(false);
    expect(index.maybeAppend(90, 6)).toBe(false);
    expect(index.maybeAppend(200, 10)).toBe(true);
    expect(index.lookup(50)).toBe(0);
    expect(index.lookup(100)).toBe(0);
    expect(index.lookup(101)).toBe(0);
    expect(index.lookup(201)).toBe(10);
    expect(index.lastTimestamp).toBe(200);
  });
});

describe("LogSegment", () => {
  it("indexes one entry per index interval and reads batches back by offset", async () => {
    const dir = tempDir();
    const segment = LogSegment.create(dir, 1000, 300);
    const positions = fill(segment, 100, 1000);
    expect(segment.nextOffset).toBe(1200);
    const batchSize = positions[1]! - positions[0]!;
    const expectedEntries = Math.floor(segment.size / (Math.ceil(300 / batchSize) * batchSize));
    expect(Math.abs(segment.offsetIndex.entryCount - expectedEntries)).toBeLessThanOrEqual(1);
    for (let offset = 1000; offset < 1200; offset += 3) {
      const bytes = segment.read(offset, 1, Number.MAX_SAFE_INTEGER, true)!;
      const batch = splitBatches(bytes).batches[0]!;
      expect(batch.baseOffset).toBe(offset - (offset % 2));
    }
    expect(segment.read(1200, 100, Number.MAX_SAFE_INTEGER, true)).toBeNull();
    // The limit (high watermark) hides batches at or past it.
    expect(segment.read(1100, 100, 1100, true)).toBeNull();
    expect(splitBatches(segment.read(1000, 1 << 20, 1010, true)!).batches).toHaveLength(5);
    await segment.close();
  });

  it("loads its indexes after a clean close and recovers the same state from the log alone", async () => {
    const dir = tempDir();
    const segment = LogSegment.create(dir, 0, 200);
    fill(segment, 50);
    const entries = segment.offsetIndex.entryCount;
    await segment.close();

    const loaded = LogSegment.open(dir, 0, 200);
    expect(loaded.loadIndexes()).toBe(true);
    expect(loaded.nextOffset).toBe(100);
    expect(loaded.maxTimestamp).toBe(1000 + 49 * 10 + 1);
    expect(loaded.offsetIndex.entryCount).toBe(entries);
    expect(loaded.offsetForTimestamp(1255, 100)).toBe(52);

    const recovered = LogSegment.open(dir, 0, 200);
    expect(recovered.rebuild()).toEqual([]);
    expect(recovered.nextOffset).toBe(100);
    expect(recovered.offsetIndex.entryCount).toBe(entries);
    expect(recovered.offsetForTimestamp(1255, 100)).toBe(52);
    expect(recovered.offsetForTimestamp(5000, 100)).toBeNull();
    loaded.release();
    recovered.release();
  });

  it("rebuild records a batch that fails its CRC as a corrupt range and keeps the batches after it", async () => {
    const dir = tempDir();
    const segment = LogSegment.create(dir, 0, 200);
    const positions = fill(segment, 20);
    await segment.close();
    const fd = fs.openSync(`${dir}/${segmentFileName(0, ".log")}`, "r+");
    fs.writeSync(fd, Buffer.from([0xee]), 0, 1, positions[12]! + 45);
    fs.closeSync(fd);
    const reopened = LogSegment.open(dir, 0, 200);
    const size = reopened.size;
    expect(() => reopened.read(24, 100, 1000, true)).toThrow(CorruptRecordError);
    expect(reopened.rebuild()).toEqual([
      expect.objectContaining({
        start: positions[12],
        end: positions[13],
        fromOffset: 24,
        toOffset: 26,
      }),
    ]);
    expect(reopened.size).toBe(size);
    expect(reopened.nextOffset).toBe(40);
    expect(() => reopened.read(25, 100, 1000, true)).toThrow(/offset 24 to 25/);
    expect(readInt64(reopened.read(26, 100, 1000, true)!, 0)).toBe(26);
    expect(readInt64(reopened.read(22, 1, 1000, true)!, 0)).toBe(22);
    reopened.release();
  });
});
