import path from "node:path";
import { type LogClient, RecordBatchBuilder, type RecordHeaders } from "@tributary/log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openLog, removeDir, tempDir } from "./helpers.js";
import { countingBatchReaders, restoreContents, withoutBatchReader } from "./restore-scenario.js";

const TOPIC = "encoded-changelog";
const MONTHS_AGO = Date.UTC(2026, 0, 15);

interface Op {
  key: string | null;
  /** null: a tombstone; "": an empty value, which is a value. */
  value: string | null;
  timestamp: number;
  headers?: RecordHeaders;
}

/** Seeded operations over 40 keys: puts, tombstones, empty values, keyless records. */
function operations(n: number): Op[] {
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const ops: Op[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    const key = r < 0.05 ? null : `k${Math.floor(rand() * 40)}`;
    const value =
      r < 0.25 ? null : r < 0.3 ? "" : `v${i}`.padEnd(1 + Math.floor(rand() * 300), "x");
    // event time months back, going backwards as well as forwards inside a batch
    const timestamp = MONTHS_AGO + Math.floor((rand() - 0.5) * 86_400_000);
    const headers: RecordHeaders | undefined =
      rand() < 0.3 ? { error: `e${i}`, n: "1" } : undefined;
    ops.push({ key, value, timestamp, ...(headers === undefined ? {} : { headers }) });
  }
  // One value larger than the encoded batches' capacity and the restore's poll size: it
  // goes in a batch of its own and must still be fetched and restored.
  ops.push({ key: "big", value: "B".repeat(70_000), timestamp: MONTHS_AGO });
  return ops;
}

/** What a store restored from these operations holds, folded here apart from the restorer. */
function fold(ops: readonly Op[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const op of ops) {
    if (op.key === null) continue; // a keyless record is no store entry
    if (op.value === null) m.delete(op.key);
    else m.set(op.key, op.value);
  }
  return m;
}

/** Writes the operations as the streams collector does: RecordBatchBuilder + sendEncoded. */
async function writeEncoded(client: LogClient, ops: readonly Op[]): Promise<void> {
  const producer = client.producer();
  try {
    for (let from = 0; from < ops.length; from += 97) {
      const batches: { partition: number; batch: Buffer }[] = [];
      let b = new RecordBatchBuilder(16 * 1024, 512);
      for (const op of ops.slice(from, from + 97)) {
        const key = op.key === null ? null : Buffer.from(op.key);
        const value = op.value === null ? null : Buffer.from(op.value);
        if (!b.appendParts(key, value, op.timestamp, op.headers)) {
          batches.push({ partition: 0, batch: b.finish() });
          b = new RecordBatchBuilder(16 * 1024, 512);
          b.appendParts(key, value, op.timestamp, op.headers);
        }
      }
      if (b.count > 0) batches.push({ partition: 0, batch: b.finish() });
      await producer.sendEncoded!(TOPIC, batches);
    }
  } finally {
    await producer.close();
  }
}

/**
 * A changelog written as the collector writes outputs (encoded batches with headers,
 * tombstones, empty values, keyless records, event time months back and out of order, one
 * record bigger than its batch) restores through the batch reader to exactly the folded
 * operations, and to what a consumer-based restore gives.
 */
describe("restore of encoded batches", () => {
  let root: string;
  let client: LogClient;
  const ops = operations(3000);

  beforeEach(async () => {
    root = tempDir("encoded-restore");
    client = await openLog(path.join(root, "log"));
    await client.admin.createTopic(TOPIC, { partitions: 1, config: { retentionMs: -1 } });
    await writeEncoded(client, ops);
  });
  afterEach(async () => {
    await client.close();
    removeDir(root);
  });

  it("restores tombstones as deletions, empty values as values, and skips keyless records", async () => {
    const expected = fold(ops);
    expect(expected.get("big")?.length).toBe(70_000);
    expect([...expected.values()].some((v) => v === "")).toBe(true);

    const counting = countingBatchReaders(client);
    const raw = await restoreContents(
      counting.client,
      TOPIC,
      path.join(root, "raw"),
      "read_uncommitted",
    );
    expect(counting.opened()).toBe(1);
    expect(raw.offset).toBe(ops.length);
    expect(raw.contents).toEqual(expected);

    const polled = await restoreContents(
      withoutBatchReader(client),
      TOPIC,
      path.join(root, "polled"),
      "read_uncommitted",
    );
    expect(polled.contents).toEqual(expected);
    expect(polled.records).toBe(raw.records);
  });
});
