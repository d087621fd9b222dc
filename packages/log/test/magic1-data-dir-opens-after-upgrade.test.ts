import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openEmbeddedLog } from "../src/embedded-log.js";
import type { LogRecord } from "../src/record.js";
import { LEGACY_MAGIC, MAGIC, splitBatches } from "../src/record-batch.js";
import { checkDataDir } from "../src/storage/partition-check.js";
import { PartitionLog } from "../src/storage/partition-log.js";
import { resolveTopicConfig } from "../src/topic-config.js";
import { readAll, removeTempDirs, tempDir } from "./storage-helpers.js";

/**
 * A data directory written by the last version whose record batches were Tributary's own
 * magic 1 (fixtures/magic1-data-dir, made by fixtures/magic1-data-dir.make.mjs at 065299e)
 * opens after the switch to Kafka's v2: it verifies, serves its records as written, takes
 * new (v2) batches after the old ones, keeps its committed offsets, and compacts (the
 * rewrite is v2).
 */
const FIXTURE = path.join(import.meta.dirname, "fixtures", "magic1-data-dir");

/** What the fixture script wrote to `events`, by partition. */
function expectedEvents(partition: number) {
  const out = [];
  for (let i = 0; i < 20; i++) {
    if (i % 2 !== partition) continue;
    out.push({
      key: i % 5 === 0 ? null : `k${i}`,
      value: i % 7 === 3 ? null : `v${i}`,
      timestamp: 1_700_000_000_000 + (i % 3 === 0 ? -i * 1000 : i),
      headers: i % 4 === 0 ? { h: `x${i}`, bin: [i, 255] } : {},
    });
  }
  return out;
}

function plain(r: LogRecord) {
  return {
    key: r.key === null ? null : r.key.toString(),
    value: r.value === null ? null : r.value.toString(),
    timestamp: r.timestamp,
    headers: Object.fromEntries(
      Object.entries(r.headers).map(([k, v]) => [k, k === "bin" ? [...v] : v.toString()]),
    ),
  };
}

function copyFixture(clean: boolean): string {
  const dir = tempDir("tributary-magic1-");
  fs.cpSync(FIXTURE, dir, { recursive: true });
  if (!clean) {
    // As after a crash: recovery then scans every magic-1 batch of the active segments.
    for (const sub of fs.readdirSync(dir, { withFileTypes: true })) {
      if (sub.isDirectory()) fs.rmSync(path.join(dir, sub.name, ".clean-shutdown"));
    }
  }
  return dir;
}

function magics(file: string): number[] {
  return splitBatches(fs.readFileSync(file)).batches.map((b) => b.magic);
}

afterEach(removeTempDirs);

describe("a data dir of magic-1 batches after the upgrade", () => {
  it("holds magic-1 batches only, as the old code wrote them", () => {
    expect(magics(path.join(FIXTURE, "events-0", "00000000000000000000.log"))).toEqual([
      LEGACY_MAGIC,
      LEGACY_MAGIC,
      LEGACY_MAGIC,
      LEGACY_MAGIC,
    ]);
  });

  for (const clean of [true, false]) {
    it(`opens after a ${clean ? "clean stop" : "crash"}, verifies, serves, appends after and keeps its group offsets`, async () => {
      const dir = copyFixture(clean);
      expect(checkDataDir(dir).flatMap((r) => r.damage)).toEqual([]);
      const log = await openEmbeddedLog(dir, { maintenanceIntervalMs: 0 });
      try {
        await log
          .producer()
          .send("events", [
            { partition: 0, key: Buffer.from("new"), value: Buffer.from("after"), timestamp: 7 },
          ]);
        const consumer = log.consumer({ groupId: "g" });
        expect(await consumer.committed([{ topic: "events", partition: 0 }])).toEqual([
          { topic: "events", partition: 0, offset: 7 },
        ]);
        for (const partition of [0, 1]) {
          consumer.assign([{ topic: "events", partition }]);
          consumer.seek({ topic: "events", partition }, 0);
          const got: LogRecord[] = [];
          const want = expectedEvents(partition).length + (partition === 0 ? 1 : 0);
          while (got.length < want) {
            const polled = await consumer.poll({ maxWaitMs: 2000 });
            if (polled.length === 0) break;
            for (const fp of polled) got.push(...fp.records);
          }
          const expected = expectedEvents(partition);
          if (partition === 0) {
            expected.push({ key: "new", value: "after", timestamp: 7, headers: {} });
          }
          expect(got.map(plain)).toEqual(expected);
          expect(got.map((r) => r.offset)).toEqual(expected.map((_, i) => i));
        }
        await consumer.close();
      } finally {
        await log.close();
      }
      const segment = path.join(dir, "events-0", "00000000000000000000.log");
      expect(magics(segment)).toEqual([1, 1, 1, 1, MAGIC]);
      expect(checkDataDir(dir).flatMap((r) => r.damage)).toEqual([]);
    });
  }

  it("compacts magic-1 segments, rewriting them as v2 with the offsets kept", async () => {
    const dir = copyFixture(true);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, "latest.topic.json"), "utf8"));
    const log = PartitionLog.open(path.join(dir, "latest-0"), {
      topic: "latest",
      partition: 0,
      config: resolveTopicConfig({ ...meta.config, minCompactionLagMs: 0 }),
    });
    try {
      const before = readAll(log);
      expect(before).toHaveLength(48);
      expect(log.compact(Date.now())).toBeGreaterThan(0);
      const after = readAll(log);
      // Six rounds over keys 0..7; the active segment (round 5) is not compacted, so each
      // key keeps its round-4 record (offsets 32..39) and its round-5 one (40..47).
      expect(after.map((r) => r.offset)).toEqual([...Array(16).keys()].map((i) => 32 + i));
      expect(after.map((r) => [r.key!.toString(), r.value!.toString().slice(0, 6)])).toEqual(
        [4, 5].flatMap((round) => [...Array(8).keys()].map((k) => [`key${k}`, `round${round}`])),
      );
      // The cleaned segments (all but the active one) hold v2 batches only, the one of
      // offsets 32..39 among them; the active segment is still the old bytes.
      const cleaned = log.segmentBaseOffsets
        .slice(0, -1)
        .flatMap((base) =>
          magics(path.join(dir, "latest-0", `${String(base).padStart(20, "0")}.log`)),
        );
      expect(cleaned.length).toBeGreaterThan(0);
      expect(new Set(cleaned)).toEqual(new Set([MAGIC]));
      expect(magics(path.join(dir, "latest-0", "00000000000000000040.log"))).toEqual([
        LEGACY_MAGIC,
      ]);
    } finally {
      await log.close();
    }
  });
});
