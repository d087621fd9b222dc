import { afterEach, describe, expect, it } from "vitest";
import {
  ClosedError,
  CorruptRecordError,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  UnsupportedCompressionError,
} from "../src/errors.js";
import { encodeBatch, RecordBatch, splitBatches } from "../src/record-batch.js";
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

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("PartitionLog append and read", () => {
  it("assigns gapless offsets across segment rolls and reads every record back in order", async () => {
    const dir = tempDir();
    const log = openLog(dir, { segmentBytes: 4096 });
    const random = rng(1);
    let seq = 0;
    for (let i = 0; i < 200; i++) {
      const n = 1 + Math.floor(random() * 10);
      const ack = await log.append(seqBatch(seq, n, { padding: Math.floor(random() * 100) }));
      expect(ack).toEqual({ baseOffset: seq, lastOffset: seq + n - 1 });
      seq += n;
    }
    expect(log.logEndOffset).toBe(seq);
    expect(log.highWatermark).toBe(seq);
    expect(log.segmentCount).toBeGreaterThan(5);
    expect(segmentFiles(dir)).toHaveLength(log.segmentCount);
    const records = readAll(log);
    expect(records.map((r) => r.offset)).toEqual([...Array(seq).keys()]);
    expect(records.map(seqOf)).toEqual([...Array(seq).keys()]);
    await log.close();
  });

  it("keeps everything, and keeps appending gaplessly, after close and reopen", async () => {
    const dir = tempDir();
    let log = openLog(dir, { segmentBytes: 4096 });
    for (let i = 0; i < 50; i++) await log.append(seqBatch(i * 5, 5, { padding: 40 }));
    const segments = log.segmentCount;
    await log.close();
    log = openLog(dir, { segmentBytes: 4096 });
    expect(log.logEndOffset).toBe(250);
    expect(log.segmentCount).toBe(segments);
    await log.append(seqBatch(250, 5));
    expect(readAll(log).map(seqOf)).toEqual([...Array(255).keys()]);
    await log.close();
  });

  it("lands index lookups on the batch holding any offset", async () => {
    const dir = tempDir();
    const log = openLog(dir, { segmentBytes: 16 * 1024, indexIntervalBytes: 256 });
    const random = rng(7);
    let seq = 0;
    for (let i = 0; i < 400; i++) {
      const n = 1 + Math.floor(random() * 6);
      await log.append(seqBatch(seq, n, { padding: Math.floor(random() * 60) }));
      seq += n;
    }
    await log.close();
    const reopened = openLog(dir, { segmentBytes: 16 * 1024, indexIntervalBytes: 256 });
    for (const l of [reopened]) {
      for (let i = 0; i < 300; i++) {
        const offset = Math.floor(random() * seq);
        const { records } = l.read(offset, 1);
        const { batches } = splitBatches(records);
        expect(batches).toHaveLength(1);
        const batch = batches[0]!;
        expect(batch.baseOffset).toBeLessThanOrEqual(offset);
        expect(batch.lastOffset).toBeGreaterThanOrEqual(offset);
        const record = batch.records().find((r) => r.offset === offset)!;
        expect(seqOf(record)).toBe(offset);
      }
    }
    await reopened.close();
  });

  it("returns at least one whole batch, and whole batches only, whatever maxBytes", async () => {
    const log = openLog(tempDir());
    await log.append(seqBatch(0, 3, { padding: 1000 }));
    await log.append(seqBatch(3, 3, { padding: 1000 }));
    const small = log.read(0, 10);
    expect(splitBatches(small.records).batches).toHaveLength(1);
    expect(splitBatches(small.records).bytesUsed).toBe(small.records.length);
    const large = log.read(0, 1 << 20);
    expect(splitBatches(large.records).batches).toHaveLength(2);
    const fromMiddle = log.read(4, 1 << 20);
    expect(splitBatches(fromMiddle.records).batches[0]!.baseOffset).toBe(3);
    await log.close();
  });

  it("serves an empty read at the high watermark and refuses offsets outside the log", async () => {
    const log = openLog(tempDir());
    expect(log.read(0, 100).records.length).toBe(0);
    await log.append(seqBatch(0, 4));
    const atEnd = log.read(4, 100);
    expect(atEnd.records.length).toBe(0);
    expect(atEnd.highWatermark).toBe(4);
    expect(() => log.read(5, 100)).toThrow(OffsetOutOfRangeError);
    expect(() => log.read(-1, 100)).toThrow(OffsetOutOfRangeError);
    await log.close();
  });

  it("takes several back-to-back batches in one append", async () => {
    const log = openLog(tempDir(), { segmentBytes: 2048 });
    const parts = [];
    for (let i = 0; i < 30; i++) parts.push(seqBatch(i * 3, 3, { padding: 50 }));
    const ack = await log.append(Buffer.concat(parts));
    expect(ack).toEqual({ baseOffset: 0, lastOffset: 89 });
    expect(log.segmentCount).toBeGreaterThan(1);
    expect(readAll(log).map(seqOf)).toEqual([...Array(90).keys()]);
    await log.close();
  });

  it("rejects invalid batches before writing anything", async () => {
    const log = openLog(tempDir(), { maxMessageBytes: 2000 });
    await log.append(seqBatch(0, 1));
    const flipped = seqBatch(1, 2);
    flipped[flipped.length - 1]! ^= 1;
    await expect(log.append(flipped)).rejects.toThrow(CorruptRecordError);
    const good = seqBatch(1, 2);
    await expect(log.append(Buffer.concat([good, good.subarray(0, 20)]))).rejects.toThrow(
      CorruptRecordError,
    );
    await expect(log.append(good.subarray(0, good.length - 1))).rejects.toThrow(CorruptRecordError);
    await expect(log.append(seqBatch(1, 1, { padding: 3000 }))).rejects.toThrow(
      RecordTooLargeError,
    );
    const badMagic = seqBatch(1, 1);
    badMagic.writeInt8(9, 16);
    await expect(log.append(badMagic)).rejects.toThrow(CorruptRecordError);
    // A compressed batch (attributes bits 0-2: 2 = snappy), correctly signed, is refused by name.
    const compressed = seqBatch(1, 1);
    compressed.writeInt16BE(2, 21);
    compressed.writeUInt32BE(new RecordBatch(compressed).computeCrc(), 17);
    await expect(log.append(compressed)).rejects.toThrow(UnsupportedCompressionError);
    await expect(log.append(compressed)).rejects.toThrow(/compressed with snappy/);
    expect(log.logEndOffset).toBe(1);
    expect(await log.append(seqBatch(1, 2))).toEqual({ baseOffset: 1, lastOffset: 2 });
    await log.close();
  });

  it("calls onAppend listeners when the high watermark moves, until unsubscribed", async () => {
    const log = openLog(tempDir());
    const seen: number[] = [];
    const off = log.onAppend(() => seen.push(log.highWatermark));
    await log.append(seqBatch(0, 2));
    await log.append(seqBatch(2, 1));
    off();
    await log.append(seqBatch(3, 1));
    expect(seen).toEqual([2, 3]);
    await log.close();
  });

  it("refuses calls after close", async () => {
    const log = openLog(tempDir());
    await log.close();
    expect(() => log.read(0, 10)).toThrow(ClosedError);
    await expect(log.append(seqBatch(0, 1))).rejects.toThrow(ClosedError);
  });
});

describe("PartitionLog flush policies", () => {
  it('"always" advances the high watermark only after the fsync, sharing fsyncs between appends', async () => {
    const log = openLog(tempDir(), { flushPolicy: "always" });
    const pending = [];
    for (let i = 0; i < 50; i++) pending.push(log.append(seqBatch(i, 1)));
    // Written (offsets assigned) at once, not visible until the group commit ends.
    expect(log.logEndOffset).toBe(50);
    expect(log.highWatermark).toBe(0);
    expect(log.read(0, 100).records.length).toBe(0);
    const acks = await Promise.all(pending);
    expect(acks.map((a) => a.baseOffset)).toEqual([...Array(50).keys()]);
    expect(log.highWatermark).toBe(50);
    expect(readAll(log).map(seqOf)).toEqual([...Array(50).keys()]);
    await log.close();
  });

  it('"os" and "interval" acknowledge and expose at once', async () => {
    for (const flushPolicy of ["os", "interval"] as const) {
      const log = openLog(tempDir(), { flushPolicy, flushIntervalMs: 5 });
      const ack = log.append(seqBatch(0, 3));
      expect(log.highWatermark).toBe(3);
      await ack;
      await log.flush();
      await log.close();
    }
  });
});

describe("PartitionLog segment roll", () => {
  it("rolls when the next batch would pass segment.bytes", async () => {
    const dir = tempDir();
    const log = openLog(dir, { segmentBytes: 1024 });
    const batch = seqBatch(0, 1, { padding: 300 });
    const size = batch.length;
    const perSegment = Math.floor(1024 / size);
    for (let i = 0; i < perSegment * 3; i++) await log.append(seqBatch(i, 1, { padding: 300 }));
    expect(log.segmentCount).toBe(3);
    expect(segmentFiles(dir)).toEqual([
      `${"0".padStart(20, "0")}.log`,
      `${String(perSegment).padStart(20, "0")}.log`,
      `${String(perSegment * 2).padStart(20, "0")}.log`,
    ]);
    await log.close();
  });

  it("rolls when the active segment's first append is older than segment.ms", async () => {
    const clock = new ManualClock();
    const log = openLog(tempDir(), { segmentMs: 60_000 }, clock.now);
    await log.append(seqBatch(0, 1));
    clock.advance(60_000);
    await log.append(seqBatch(1, 1));
    expect(log.segmentCount).toBe(1);
    clock.advance(1);
    await log.append(seqBatch(2, 1));
    expect(log.segmentCount).toBe(2);
    expect(readAll(log).map(seqOf)).toEqual([0, 1, 2]);
    await log.close();
  });
});

describe("PartitionLog time-based roll across a reopen", () => {
  it("counts segment.ms from when the segment was made, not from replayed old record times", async () => {
    const dir = tempDir();
    const dayAgo = Date.now() - 24 * 60 * 60 * 1000;
    let log = openLog(dir, { segmentMs: 60 * 60 * 1000 });
    await log.append(seqBatch(0, 3, { timestamp: dayAgo }));
    await log.close();
    log = openLog(dir, { segmentMs: 60 * 60 * 1000 });
    // The records are a day old, the segment a few milliseconds: no roll.
    await log.append(seqBatch(3, 3, { timestamp: dayAgo + 3 }));
    expect(log.segmentCount).toBe(1);
    expect(readAll(log).map(seqOf)).toEqual([0, 1, 2, 3, 4, 5]);
    await log.close();
  });
});

describe("PartitionLog offsetForTimestamp", () => {
  it("agrees with a brute-force scan, across segments and after reopen", async () => {
    const dir = tempDir();
    const config = { segmentBytes: 8 * 1024, indexIntervalBytes: 200 };
    let log = openLog(dir, config);
    const random = rng(3);
    let seq = 0;
    let base = 1_000_000;
    for (let i = 0; i < 300; i++) {
      const n = 1 + Math.floor(random() * 5);
      // Mostly rising, sometimes out of order, like real event times.
      base += Math.floor(random() * 40) - 10;
      const records = [];
      for (let j = 0; j < n; j++) {
        records.push({
          value: Buffer.from(`seq:${seq + j}:`),
          timestamp: base + Math.floor(random() * 30),
        });
      }
      await log.append(encodeBatch(records));
      seq += n;
    }
    for (const phase of ["open", "reopened"]) {
      if (phase === "reopened") {
        await log.close();
        log = openLog(dir, config);
      }
      const all = readAll(log);
      const maxTs = Math.max(...all.map((r) => r.timestamp));
      for (let i = 0; i < 200; i++) {
        const ts = 999_900 + Math.floor(random() * (maxTs - 999_900 + 50));
        const expected = all.find((r) => r.timestamp >= ts)?.offset ?? null;
        expect(log.offsetForTimestamp(ts)).toBe(expected);
      }
    }
    await log.close();
  });
});
