import fs from "node:fs";
import path from "node:path";
import { type Logger, pino } from "pino";
import { expect } from "vitest";
import { CorruptRecordError } from "../src/errors.js";
import type { PartitionLog } from "../src/storage/partition-log.js";
import { splitBatches } from "../src/record-batch.js";
import { seqOf } from "./storage-helpers.js";

/** Shared by the damaged-file tests and the corruption campaign. */

export interface StoredBatch {
  file: string;
  position: number;
  size: number;
  baseOffset: number;
  seqs: number[];
}

/** Every batch of every segment of `dir`, in offset order, with the sequence numbers it holds. */
export function storedBatches(dir: string): StoredBatch[] {
  const out: StoredBatch[] = [];
  for (const name of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith(".log"))
    .sort()) {
    const file = path.join(dir, name);
    for (const b of splitBatches(fs.readFileSync(file)).batches) {
      out.push({
        file,
        position: b.position,
        size: b.sizeInBytes,
        baseOffset: b.baseOffset,
        seqs: b
          .records()
          .flatMap((r) => (/^seq:\d+:/.test(r.value?.toString() ?? "") ? [seqOf(r)] : [])),
      });
    }
  }
  return out;
}

/**
 * Bytes 12..15 of a v2 batch, its partitionLeaderEpoch: outside the CRC in Kafka's format
 * (a leader stamps it at append) and read by nothing in Tributary, so damage confined to
 * it leaves every record intact and the batch is rightly served.
 */
const LEADER_EPOCH_FROM = 12;
const LEADER_EPOCH_TO = 16;

/** The sequence numbers of the batches that no byte range of `damaged` touches. */
export function intactSeqs(
  batches: readonly StoredBatch[],
  damaged: readonly { file: string; from: number; to: number }[],
): number[] {
  const harms = (b: StoredBatch, d: { file: string; from: number; to: number }) =>
    d.file === b.file &&
    d.from < b.position + b.size &&
    d.to > b.position &&
    !(d.from >= b.position + LEADER_EPOCH_FROM && d.to <= b.position + LEADER_EPOCH_TO);
  return batches.filter((b) => !damaged.some((d) => harms(b, d))).flatMap((b) => b.seqs);
}

export function flipByte(file: string, position: number, mask = 0x40): void {
  const fd = fs.openSync(file, "r+");
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, position);
    b[0] = b[0]! ^ mask;
    fs.writeSync(fd, b, 0, 1, position);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads the whole log as a consumer would, stepping over each corrupt range the log
 * names (CorruptRecordError with `resumeAt`). Every record served is CRC-checked; any other
 * error, or a corrupt range without a place to resume, fails the test.
 */
export function readIntact(log: PartitionLog): { seqs: number[]; errors: CorruptRecordError[] } {
  const seqs: number[] = [];
  const errors: CorruptRecordError[] = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    let records: Buffer;
    try {
      records = log.read(offset, 64 * 1024).records;
    } catch (err) {
      if (!(err instanceof CorruptRecordError)) throw err;
      const resume = err.location.resumeAt;
      if (resume === undefined || resume <= offset) throw err;
      errors.push(err);
      offset = resume;
      continue;
    }
    const { batches } = splitBatches(records);
    if (batches.length === 0) throw new Error(`read at ${offset} returned no whole batch`);
    for (const batch of batches) {
      batch.verify();
      for (const r of batch.records()) if (r.offset >= offset) seqs.push(seqOf(r));
      offset = batch.nextOffset;
    }
  }
  return { seqs, errors };
}

/** A logger whose entries the test can inspect. */
export function capturingLogger(): { logger: Logger; entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const logger = pino(
    { level: "debug" },
    { write: (line: string) => entries.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, entries };
}

/** Asserts that `served` is exactly the intact sequence numbers, in order. */
export function expectAllIntactServed(served: number[], intact: number[]): void {
  const servedSet = new Set(served);
  const intactSet = new Set(intact);
  const missing = intact.filter((s) => !servedSet.has(s));
  expect(missing, `intact records not served: ${missing.slice(0, 20).join(",")}`).toEqual([]);
  const unknown = served.filter((s) => !intactSet.has(s));
  expect(unknown, `records served that were damaged: ${unknown.join(",")}`).toEqual([]);
  expect(served).toEqual(intact);
}

/** xorshift32: a small seeded PRNG (floats in [0, 1)), so a failing case reproduces from its seed. */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}
