import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { LogRecord } from "../src/record.js";
import { encodeBatch, splitBatches } from "../src/record-batch.js";
import {
  ManualClock,
  openLog,
  readAll,
  removeTempDirs,
  segmentFiles,
  tempDir,
} from "./storage-helpers.js";

afterEach(removeTempDirs);

const HOUR = 3_600_000;
const config = {
  cleanupPolicy: "compact" as const,
  segmentBytes: 4096,
  indexIntervalBytes: 256,
  deleteRetentionMs: HOUR,
  retentionMs: -1,
};

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Appends keyed records over many segments: 40 keys, some keyless records, tombstones
 * both older and newer than delete.retention.ms (timestamps climb a minute per batch).
 */
async function fillKeyed(dir: string, clock: ManualClock) {
  const log = openLog(dir, config, clock.now);
  const random = rng(11);
  let ts = 0;
  for (let b = 0; b < 250; b++) {
    const records = [];
    const n = 1 + Math.floor(random() * 4);
    for (let i = 0; i < n; i++) {
      const k = Math.floor(random() * 40);
      const kind = random();
      records.push({
        key: kind < 0.05 ? null : Buffer.from(`key-${k}`),
        value: kind > 0.85 ? null : Buffer.from(`value-${b}-${i}-${"p".repeat(k)}`),
        timestamp: ts,
      });
    }
    ts += 60_000;
    await log.append(encodeBatch(records));
  }
  await log.flush();
  return log;
}

/** The independent answer: which records compaction of offsets below `end` keeps. */
function expectedAfterCompaction(all: LogRecord[], end: number, now: number): LogRecord[] {
  const last = new Map<string, number>();
  for (const r of all)
    if (r.offset < end && r.key !== null) last.set(r.key.toString("hex"), r.offset);
  return all.filter((r) => {
    if (r.offset >= end || r.key === null) return true;
    if (last.get(r.key.toString("hex")) !== r.offset) return false;
    return r.value !== null || now - r.timestamp <= HOUR;
  });
}

/** Key -> latest value as a consumer folding the log sees it (tombstones delete). */
function fold(records: LogRecord[]): Map<string, string> {
  const state = new Map<string, string>();
  for (const r of records) {
    if (r.key === null) continue;
    if (r.value === null) state.delete(r.key.toString());
    else state.set(r.key.toString(), r.value.toString());
  }
  return state;
}

const view = (rs: LogRecord[]) =>
  rs.map(
    (r) =>
      `${r.offset}:${r.key?.toString() ?? "-"}=${r.value?.toString() ?? "<tombstone>"}@${r.timestamp}`,
  );

describe("compaction", () => {
  it("keeps exactly the newest record per key in non-active segments, with their original offsets", async () => {
    const dir = tempDir();
    const clock = new ManualClock(0);
    const log = await fillKeyed(dir, clock);
    const all = readAll(log);
    const end = log.segmentBaseOffsets.at(-1)!;
    const segmentsBefore = log.segmentCount;
    const sizeBefore = log.sizeInBytes;
    const logEnd = log.logEndOffset;
    const now = 250 * 60_000; // about 4 h after the first record: early tombstones are expired
    clock.time = now;

    const removed = log.compact(now);
    const after = readAll(log);
    const expected = expectedAfterCompaction(all, end, now);
    expect(removed).toBe(all.length - expected.length);
    expect(removed).toBeGreaterThan(100);
    expect(view(after)).toEqual(view(expected));
    expect(log.logEndOffset).toBe(logEnd);
    expect(log.logStartOffset).toBe(0);
    expect(log.sizeInBytes).toBeLessThan(sizeBefore);
    // Groups are chosen by input size (as Kafka does): full segments merge on a later run.
    expect(log.segmentCount).toBeLessThanOrEqual(segmentsBefore);
    // What a consumer folding the log ends up with does not change (expired tombstones
    // only remove keys that were deleted anyway).
    expect(fold(after)).toEqual(fold(all));
    // Expired tombstones are gone, recent ones stay.
    expect(after.some((r) => r.offset < end && r.value === null && now - r.timestamp > HOUR)).toBe(
      false,
    );
    expect(after.some((r) => r.offset < end && r.value === null)).toBe(true);

    // Index lookups land right on compacted segments, whose batches now have gaps.
    for (const r of after) {
      const { batches } = splitBatches(log.read(r.offset, 1).records);
      expect(batches[0]!.baseOffset).toBeLessThanOrEqual(r.offset);
      expect(batches[0]!.lastOffset).toBeGreaterThanOrEqual(r.offset);
    }

    // A second run has nothing more to remove, and appends continue at the old end.
    expect(log.compact(now)).toBe(0);
    const ack = await log.append(
      encodeBatch([{ key: Buffer.from("key-1"), value: Buffer.from("new") }]),
    );
    expect(ack.baseOffset).toBe(logEnd);
    await log.close();

    const reopened = openLog(dir, config, clock.now);
    expect(view(readAll(reopened))).toEqual(view([...after, ...readAll(reopened, logEnd)]));
    expect(reopened.logEndOffset).toBe(logEnd + 1);
    await reopened.close();
  });

  it("leaves segments younger than min.compaction.lag.ms alone", async () => {
    const dir = tempDir();
    const clock = new ManualClock(0);
    const log = await fillKeyed(dir, clock);
    const all = readAll(log);
    log.updateConfig({ ...log.currentConfig, minCompactionLagMs: 1000 * HOUR });
    expect(log.compact(10 * HOUR)).toBe(0);
    expect(view(readAll(log))).toEqual(view(all));
    await log.close();
  });

  it("finishes a swap that a crash interrupted after its commit point, and discards an uncommitted one", async () => {
    const dir = tempDir();
    const clock = new ManualClock(0);
    const log = await fillKeyed(dir, clock);
    await log.close();
    const before = tempDir();
    fs.cpSync(dir, before, { recursive: true });

    const compacted = openLog(dir, config, clock.now);
    const originalBases = segmentFiles(before).map((f) => Number(f.slice(0, 20)));
    compacted.compact(250 * 60_000);
    const expected = view(readAll(compacted));
    const cleanedBases = compacted.segmentBaseOffsets.slice(0, -1);
    await compacted.close();
    expect(cleanedBases.length).toBeGreaterThan(0);

    // Crash after the rename to .swap: the old segments and the swap file are both there.
    const crashed = tempDir();
    fs.cpSync(before, crashed, { recursive: true });
    fs.rmSync(path.join(crashed, ".clean-shutdown"));
    const firstBase = cleanedBases[0]!;
    const nextBase = cleanedBases[1] ?? compacted.segmentBaseOffsets.at(-1)!;
    const name = `${String(firstBase).padStart(20, "0")}.log`;
    fs.copyFileSync(path.join(dir, name), path.join(crashed, `${name}.swap`));
    fs.writeFileSync(
      path.join(crashed, `${name}.swap.manifest`),
      originalBases
        .filter((b) => b >= firstBase && b < nextBase)
        .map((b) => `${b}\n`)
        .join(""),
    );
    const recovered = openLog(crashed, config, clock.now);
    const got = readAll(recovered);
    // The first group is compacted, the rest is as it was: the fold agrees with the full run.
    expect(fold(got)).toEqual(fold(readAll(openLogRead(dir))));
    expect(view(got.filter((r) => r.offset < nextBase))).toEqual(
      expected.filter((line) => Number(line.slice(0, line.indexOf(":"))) < nextBase),
    );
    expect(fs.readdirSync(crashed).some((n) => n.includes(".swap"))).toBe(false);
    await recovered.close();

    // Crash before the commit point: a .cleaned file is thrown away, nothing changes.
    const early = tempDir();
    fs.cpSync(before, early, { recursive: true });
    fs.copyFileSync(path.join(dir, name), path.join(early, `${name}.cleaned`));
    const untouched = openLog(early, config, clock.now);
    const original = openLogRead(before);
    expect(view(readAll(untouched))).toEqual(view(readAll(original)));
    expect(fs.readdirSync(early).some((n) => n.endsWith(".cleaned"))).toBe(false);
    await untouched.close();
    await original.close();
  });
});

const opened: ReturnType<typeof openLog>[] = [];
function openLogRead(dir: string) {
  const log = openLog(dir, config);
  opened.push(log);
  return log;
}
afterEach(async () => {
  for (const log of opened.splice(0)) await log.close();
});
