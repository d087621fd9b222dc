import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CorruptRecordError } from "../src/errors.js";
import { CLEAN_SHUTDOWN_FILE, writeCheckpoint } from "../src/storage/log-recovery.js";
import { segmentFileName } from "../src/storage/segment-files.js";
import { OffsetStore } from "../src/groups/offset-store.js";
import { PartitionLog } from "../src/storage/partition-log.js";
import { PartitionLogOffsetJournal } from "../src/storage/partition-log-offset-journal.js";
import { resolveTopicConfig } from "../src/topic-config.js";
import {
  capturingLogger,
  expectAllIntactServed,
  flipByte,
  intactSeqs,
  readIntact,
  type StoredBatch,
  storedBatches,
} from "./corruption-helpers.js";
import { removeTempDirs, segmentFiles, seqBatch, tempDir, testConfig } from "./storage-helpers.js";

afterEach(removeTempDirs);

const config = { segmentBytes: 4096, indexIntervalBytes: 256 };
const BATCHES = 300;
const RECORDS = BATCHES * 3;

/** How the log was left before the damage: the three ways a partition comes back. */
const SHUTDOWNS = {
  clean: (_dir: string, _batches: StoredBatch[]) => {},
  // A crash: the recovery point at the active segment's start, as the last roll left it.
  unclean: (dir: string, batches: StoredBatch[]) => {
    fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
    const active = batches.filter((b) => b.file === batches.at(-1)!.file)[0]!;
    writeCheckpoint(dir, { recoveryPoint: active.baseOffset, logStartOffset: 0 });
  },
  // A crash with no useful checkpoint: every segment is re-verified.
  "unclean, recovery point 0": (dir: string) => {
    fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
    writeCheckpoint(dir, { recoveryPoint: 0, logStartOffset: 0 });
  },
};

interface Damage {
  /** Damages the files; returns the byte ranges of batches it made unreadable. */
  apply(dir: string, batches: StoredBatch[]): { file: string; from: number; to: number }[];
  /** The log event that must report it. */
  event: string;
}

/** The second segment: sealed, with segments before and after it. */
function sealedFile(batches: StoredBatch[]): string {
  const files = [...new Set(batches.map((b) => b.file))];
  expect(files.length).toBeGreaterThanOrEqual(5);
  return files[1]!;
}

const DAMAGES: Record<string, Damage> = {
  "a byte flipped after the last index entry of a sealed segment": {
    event: "corrupt-range",
    apply(_dir, batches) {
      const file = sealedFile(batches);
      const index = fs.readFileSync(file.replace(/\.log$/, ".index"));
      expect(index.length).toBeGreaterThan(0);
      const lastIndexed = index.readUInt32BE(index.length - 4);
      const victim = batches.filter((b) => b.file === file && b.position >= lastIndexed).at(-1)!;
      expect(victim).toBeDefined();
      flipByte(file, victim.position + victim.size - 20);
      return [
        { file, from: victim.position + victim.size - 20, to: victim.position + victim.size - 19 },
      ];
    },
  },
  "garbage appended to a sealed segment": {
    event: "corrupt-bytes",
    apply(_dir, batches) {
      fs.appendFileSync(sealedFile(batches), Buffer.alloc(700, 0x5a));
      return [];
    },
  },
  "a sealed segment cut in half": {
    event: "corrupt-range",
    apply(_dir, batches) {
      const file = sealedFile(batches);
      const size = fs.statSync(file).size;
      fs.truncateSync(file, Math.floor(size / 2));
      return [{ file, from: Math.floor(size / 2), to: size }];
    },
  },
  "a stray empty …7.log file": {
    event: "stray-segment-removed",
    apply(dir) {
      fs.writeFileSync(path.join(dir, segmentFileName(7, ".log")), "");
      return [];
    },
  },
};

describe("a damaged segment never costs the intact records after it", () => {
  for (const [shutdownName, shutdown] of Object.entries(SHUTDOWNS)) {
    for (const [damageName, damage] of Object.entries(DAMAGES)) {
      it(`${damageName}, after a ${shutdownName} shutdown`, async () => {
        const dir = tempDir();
        const log = openWith(dir);
        for (let i = 0; i < BATCHES; i++) await log.append(seqBatch(i * 3, 3, { padding: 60 }));
        await log.close();
        const batches = storedBatches(dir);
        const filesBefore = segmentFiles(dir);
        shutdown(dir, batches);
        const damaged = damage.apply(dir, batches);
        const intact = intactSeqs(batches, damaged);
        expect(intact.length).toBeLessThanOrEqual(RECORDS);

        const { logger, entries } = capturingLogger();
        const reopened = openWith(dir, logger);
        expect(entries.map((e) => e.event)).toContain(damage.event);
        for (const file of filesBefore) expect(fs.existsSync(path.join(dir, file))).toBe(true);
        const { seqs, errors } = readIntact(reopened);
        expectAllIntactServed(seqs, intact);
        if (damaged.length > 0) {
          // The consumer is told, by name, where the records it cannot have were.
          expect(errors.length).toBeGreaterThan(0);
          expect(errors[0]).toBeInstanceOf(CorruptRecordError);
          expect(errors[0]!.code).toBe("CORRUPT_RECORD");
          expect(errors[0]!.message).toContain(damaged[0]!.file);
          expect(errors[0]!.location.segment).toBe(damaged[0]!.file);
        }
        // New records continue after the old ones: no offset is handed out twice.
        expect(reopened.logEndOffset).toBe(RECORDS);
        expect((await reopened.append(seqBatch(RECORDS, 1))).baseOffset).toBe(RECORDS);
        await reopened.close();

        // And again after a clean restart: nothing was lost in between.
        const again = openWith(dir);
        expectAllIntactServed(readIntact(again).seqs, [...intact, RECORDS]);
        await again.close();
      });
    }
  }
});

describe("a flipped byte in __consumer_offsets", () => {
  for (const unclean of [false, true]) {
    it(`loses only the commit it hit, after a ${unclean ? "unclean" : "clean"} shutdown`, async () => {
      const dir = tempDir();
      const offsetsConfig = resolveTopicConfig({
        cleanupPolicy: "compact",
        flushPolicy: "always",
        segmentBytes: 4096,
        indexIntervalBytes: 256,
      });
      const open = (logger?: ReturnType<typeof capturingLogger>["logger"]) =>
        PartitionLog.open(dir, {
          topic: "__consumer_offsets",
          partition: 0,
          config: offsetsConfig,
          logger,
        });
      const log = open();
      const store = new OffsetStore(new PartitionLogOffsetJournal(log));
      const groups = Array.from({ length: 200 }, (_, i) => `group-${i}`);
      for (const [i, g] of groups.entries()) {
        await store.commit(g, [{ topic: "orders", partition: 0, offset: 100 + i }], 1000 + i);
      }
      await log.close();
      const batches = storedBatches(dir);
      expect(new Set(batches.map((b) => b.file)).size).toBeGreaterThanOrEqual(3);
      if (unclean) fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
      // Hit the commit of group-10, in the first segment.
      const victim = batches.find((b) => b.baseOffset === 10)!;
      expect(victim.file).toBe(batches[0]!.file);
      flipByte(victim.file, victim.position + victim.size - 5);

      const { logger, entries } = capturingLogger();
      const reopened = open(logger);
      const restored = new OffsetStore(new PartitionLogOffsetJournal(reopened, logger));
      for (const [i, g] of groups.entries()) {
        if (i === 10) continue;
        expect(restored.committed(g, "orders", 0)?.offset, g).toBe(100 + i);
      }
      expect(restored.committed("group-10", "orders", 0)).toBeUndefined();
      expect(entries.map((e) => e.event)).toContain("offsets-skipped");
      await reopened.close();
    });
  }
});

function openWith(
  dir: string,
  logger?: ReturnType<typeof capturingLogger>["logger"],
): PartitionLog {
  return PartitionLog.open(dir, { topic: "t", partition: 0, config: testConfig(config), logger });
}
