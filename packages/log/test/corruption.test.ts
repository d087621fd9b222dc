import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CorruptRecordError } from "../src/errors.js";
import { CLEAN_SHUTDOWN_FILE, writeCheckpoint } from "../src/storage/log-recovery.js";
import { PartitionLog } from "../src/storage/partition-log.js";
import { splitBatches } from "../src/record-batch.js";
import { capturingLogger } from "./corruption-helpers.js";
import {
  openLog,
  readAll,
  removeTempDirs,
  segmentFiles,
  seqBatch,
  seqOf,
  tempDir,
  testConfig,
} from "./storage-helpers.js";

afterEach(removeTempDirs);

const config = { segmentBytes: 4096, indexIntervalBytes: 256 };

/** Fills a log with 3-record batches over several segments and closes it cleanly. */
async function filledLog(dir: string, batches = 60): Promise<void> {
  const log = openLog(dir, config);
  for (let i = 0; i < batches; i++) await log.append(seqBatch(i * 3, 3, { padding: 60 }));
  expect(log.segmentCount).toBeGreaterThanOrEqual(3);
  await log.close();
}

/** Batches of a segment file: position and base offset of each. */
function batchesOf(file: string): { position: number; baseOffset: number; size: number }[] {
  const { batches } = splitBatches(fs.readFileSync(file));
  return batches.map((b) => ({
    position: b.position,
    baseOffset: b.baseOffset,
    size: b.sizeInBytes,
  }));
}

function flipByte(file: string, position: number): void {
  const fd = fs.openSync(file, "r+");
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, position);
  b[0]! ^= 0x40;
  fs.writeSync(fd, b, 0, 1, position);
  fs.closeSync(fd);
}

describe("corruption", () => {
  it("reports a flipped byte in a closed segment as CorruptRecordError naming segment, position and offset", async () => {
    const dir = tempDir();
    await filledLog(dir);
    const file = path.join(dir, segmentFiles(dir)[0]!);
    const victim = batchesOf(file)[4]!;
    flipByte(file, victim.position + victim.size - 10);

    const log = openLog(dir, config);
    let error: unknown;
    try {
      log.read(victim.baseOffset + 1, 1 << 20);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CorruptRecordError);
    const corrupt = error as CorruptRecordError;
    expect(corrupt.location).toMatchObject({
      segment: file,
      position: victim.position,
      offset: victim.baseOffset,
    });
    expect(corrupt.message).toContain(file);
    expect(corrupt.message).toContain(`offset ${victim.baseOffset}`);

    // A read from before it stops short of the corrupt batch: never garbage.
    const before = log.read(0, 1 << 20).records;
    const { batches } = splitBatches(before);
    expect(batches.length).toBe(4);
    for (const b of batches) b.verify();
    // The batches after it are still served.
    expect(
      seqOf(splitBatches(log.read(victim.baseOffset + 3, 100).records).batches[0]!.records()[0]!),
    ).toBe(victim.baseOffset + 3);
    await log.close();
  });

  it("reports a damaged length field as CorruptRecordError instead of misreading", async () => {
    const dir = tempDir();
    await filledLog(dir);
    const file = path.join(dir, segmentFiles(dir)[1]!);
    const victim = batchesOf(file)[2]!;
    const fd = fs.openSync(file, "r+");
    const len = Buffer.alloc(4);
    len.writeInt32BE(0x7ffffff0);
    fs.writeSync(fd, len, 0, 4, victim.position + 8);
    fs.closeSync(fd);
    const log = openLog(dir, config);
    expect(() => log.read(victim.baseOffset, 1 << 20)).toThrow(CorruptRecordError);
    await log.close();
  });

  it("cuts a torn last batch off the active segment when reopening after an unclean shutdown, and logs it", async () => {
    const dir = tempDir();
    await filledLog(dir);
    fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
    const file = path.join(dir, segmentFiles(dir).at(-1)!);
    const victim = batchesOf(file).at(-1)!;
    // As a crash leaves it: the checkpoint's recovery point at the active segment's start.
    writeCheckpoint(dir, { recoveryPoint: batchesOf(file)[0]!.baseOffset, logStartOffset: 0 });
    fs.truncateSync(file, victim.position + victim.size - 7);

    const { logger, entries } = capturingLogger();
    const log = PartitionLog.open(dir, {
      topic: "t",
      partition: 0,
      config: testConfig(config),
      logger,
    });
    expect(log.logEndOffset).toBe(victim.baseOffset);
    expect(fs.statSync(file).size).toBe(victim.position);
    expect(entries).toContainEqual(
      expect.objectContaining({
        event: "log-truncated",
        file,
        position: victim.position,
        bytes: victim.size - 7,
        intactRecordsDropped: 0,
        tornRecords: 3,
      }),
    );
    expect(readAll(log).map(seqOf)).toEqual([...Array(victim.baseOffset).keys()]);
    await log.append(seqBatch(victim.baseOffset, 2));
    expect(readAll(log).map(seqOf)).toEqual([...Array(victim.baseOffset + 2).keys()]);
    await log.close();
  });

  it("rebuilds a damaged index instead of trusting it", async () => {
    const dir = tempDir();
    await filledLog(dir);
    const index = path.join(dir, segmentFiles(dir, ".index")[0]!);
    fs.writeFileSync(index, Buffer.from([0, 0, 0, 9, 0xff, 0xff, 0xff, 0xf0]));
    const log = openLog(dir, config);
    expect(readAll(log).map(seqOf)).toEqual([...Array(180).keys()]);
    for (let offset = 0; offset < 180; offset += 7) {
      expect(
        splitBatches(log.read(offset, 1).records).batches[0]!.lastOffset,
      ).toBeGreaterThanOrEqual(offset);
    }
    await log.close();
  });
});
