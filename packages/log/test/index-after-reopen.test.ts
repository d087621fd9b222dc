import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  openLog,
  readAll,
  removeTempDirs,
  segmentFiles,
  seqBatch,
  seqOf,
  tempDir,
} from "./storage-helpers.js";

afterEach(removeTempDirs);

/** Recent record times: segment.ms measures a reopened segment from its first record. */
const T0 = Date.now();

/** Appends `n` 10-record batches numbered from `first`. */
async function appendBatches(log: ReturnType<typeof openLog>, first: number, n: number) {
  for (let i = 0; i < n; i++) {
    const seq = first + i * 10;
    await log.append(seqBatch(seq, 10, { padding: 20, timestamp: T0 + seq }));
  }
}

describe("segment indexes after a clean reopen", () => {
  it("the index files of a segment that took appends after a reopen cover those appends once it rolls", async () => {
    const config = { segmentBytes: 64 * 1024, indexIntervalBytes: 512 };
    // Reference: the same appends without a reopen in between.
    const refDir = tempDir();
    const ref = openLog(refDir, config);
    await appendBatches(ref, 0, 300);
    await ref.close();

    const dir = tempDir();
    let log = openLog(dir, config);
    await appendBatches(log, 0, 20);
    await log.close();
    log = openLog(dir, config);
    await appendBatches(log, 200, 280);
    expect(log.segmentCount).toBeGreaterThan(1); // the reopened segment rolled
    await log.close();

    const first = segmentFiles(dir, ".index")[0]!;
    const size = (d: string, f: string) => fs.statSync(path.join(d, f)).size;
    expect(first).toBe(segmentFiles(refDir, ".index")[0]);
    expect(size(dir, first)).toBe(size(refDir, first));
    const firstTime = segmentFiles(dir, ".timeindex")[0]!;
    // The close before the reopen added one entry of its own; the rest are the same.
    expect(size(dir, firstTime)).toBeGreaterThanOrEqual(size(refDir, firstTime));

    const reopened = openLog(dir, config);
    expect(readAll(reopened).map(seqOf)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    await reopened.close();
  });
});
