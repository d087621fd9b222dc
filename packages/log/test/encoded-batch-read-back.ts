import fs from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import type { LogClient } from "../src/client/log-client.js";
import { splitBatches } from "../src/record-batch.js";
import { ENCODED_PARTITIONS, expectedRecord } from "./encoded-batch-records.js";

/** Every record of `topic` (the log verifies each batch's CRC as it reads it), by partition. */
export async function readEncodedTopic(
  log: LogClient,
  topic: string,
): Promise<{ run: number; i: number }[][]> {
  const ends = await log.admin.listOffsets(topic, "latest");
  const consumer = log.consumer();
  consumer.assign(ends.map((e) => ({ topic, partition: e.partition })));
  for (const e of ends) consumer.seek({ topic, partition: e.partition }, 0);
  const got: { run: number; i: number }[][] = Array.from({ length: ENCODED_PARTITIONS }, () => []);
  const done = () => ends.every((e) => got[e.partition]!.length >= e.offset);
  const deadline = Date.now() + 120_000;
  while (!done() && Date.now() < deadline) {
    for (const f of await consumer.poll({ maxWaitMs: 200 })) {
      for (const r of f.records) {
        const [run, i] = r.headers.id!.toString().split(":").map(Number) as [number, number];
        // Each record as the pure function of its id says, whatever batch it landed in.
        const want = expectedRecord(run, i);
        expect(f.partition).toBe(want.partition);
        expect(r.key).toEqual(want.key);
        expect(r.value).toEqual(want.value);
        expect(Object.keys(r.headers).sort()).toEqual(Object.keys(want.headers).sort());
        for (const [k, v] of Object.entries(want.headers)) {
          expect(r.headers[k]).toEqual(Buffer.from(v));
        }
        got[f.partition]!.push({ run, i });
      }
    }
  }
  await consumer.close();
  expect(done()).toBe(true);
  return got;
}

/**
 * The stored batches of each partition of `topic` under `dataDir`, read from the segment
 * files: each whole batch's CRC must match its bytes, and per producer the base sequences
 * must run on without a gap (batch n+1 starts where batch n's records end). Returns the
 * number of batches checked.
 */
export function checkStoredBatches(dataDir: string, topic: string): number {
  let checked = 0;
  for (let p = 0; p < ENCODED_PARTITIONS; p++) {
    const dir = path.join(dataDir, `${topic}-${p}`);
    const next = new Map<number, number>();
    for (const file of fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".log"))
      .sort()) {
      const bytes = fs.readFileSync(path.join(dir, file));
      const { batches, bytesUsed } = splitBatches(bytes);
      // No torn batch left at a segment's end (recovery cut it off when the log opened).
      expect(bytesUsed).toBe(bytes.length);
      for (const b of batches) {
        expect(b.isValid()).toBe(true);
        expect(b.producerId).toBeGreaterThanOrEqual(0);
        const want = next.get(b.producerId);
        if (want !== undefined) expect(b.baseSequence).toBe(want);
        next.set(b.producerId, b.baseSequence + b.recordCount);
        checked++;
      }
    }
  }
  return checked;
}
