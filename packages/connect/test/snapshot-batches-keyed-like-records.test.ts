import { partitionForKey } from "@tributary/log";
import { afterEach, describe, expect, it } from "vitest";
import {
  NO_PG,
  cdcSource,
  cleanup,
  freshDatabase,
  openTestLog,
  readTopic,
  sql,
  startWorker,
  waitFor,
} from "./helpers.js";

afterEach(cleanup);

/**
 * Snapshots `ROWS` rows of values up to ~3 KB (so batches fill at different rows) into
 * `PARTITIONS` partitions, `fetchRows` rows per poll, and checks each record against the
 * table.
 */
async function snapshotMatchesTable(ROWS: number, PARTITIONS: number, fetchRows: number) {
  const url = await freshDatabase("snapbatch");
  await sql(url, "CREATE TABLE items (id int PRIMARY KEY, v text)");
  // Values of varied length (up to ~3 KB), so batches fill at different rows.
  await sql(
    url,
    "INSERT INTO items SELECT g, repeat('v', (g * 37) % 3000) FROM generate_series(1, $1) g",
    [ROWS],
  );
  const log = await openTestLog();
  const worker = await startWorker(log, {
    connectors: [
      cdcSource({
        connection: url,
        tables: ["items"],
        topicPrefix: "sb",
        topicPartitions: PARTITIONS,
        snapshotFetchRows: fetchRows,
      }),
    ],
  });
  await waitFor("the snapshot", async () => worker.metrics.total("offset_commits") >= 1);
  expect(worker.metrics.total("snapshot_rows")).toBe(ROWS);
  expect(worker.metrics.total("records_sent")).toBeGreaterThanOrEqual(ROWS);

  const records = await readTopic(log, "sb.public.items");
  expect(records.length).toBe(ROWS);
  // The order a sequential scan reads the table in (not the ids': long values moved
  // rows), which is the COPY's: each partition must keep it.
  // ORDER BY ctid: without it, once autovacuum has set the visibility map, the planner
  // may read `SELECT id` by an index-only scan, in id order (the likely cause of a
  // failure seen once under load).
  const scanned = await sql<{ id: number }>(url, "SELECT id FROM items ORDER BY ctid");
  const scanIndex = new Map(scanned.map((r, i) => [r.id, i]));
  const last = new Array<number>(PARTITIONS).fill(-1);
  const seen = new Set<number>();
  for (const r of records) {
    expect(r.partition).toBe(partitionForKey(r.key!, PARTITIONS));
    const id = JSON.parse(r.key!.toString()).id as number;
    expect(r.key!.toString()).toBe(JSON.stringify({ id }));
    const at = scanIndex.get(id)!;
    expect(at).toBeGreaterThan(last[r.partition]!);
    last[r.partition] = at;
    seen.add(id);
    const envelope = JSON.parse(r.value!.toString());
    expect(envelope.op).toBe("r");
    expect(envelope.after).toEqual({ id, v: "v".repeat((id * 37) % 3000) });
    expect(r.headers).toEqual({});
  }
  expect(seen.size).toBe(ROWS);
}

describe.skipIf(NO_PG)("the snapshot's record batches (encoded by the source)", () => {
  it("put each row once on murmur2(key)'s partition, in table order, with the rows' values", async () => {
    await snapshotMatchesTable(5000, 4, 700);
  });

  it("carry on into the next batch when a row's record does not fit the one it was written into", async () => {
    // ~1.5 KB per row on one partition, 4,000 rows per poll: ~6 MB per poll, so the 1 MiB
    // batches fill (a row written in place past a batch's end moves to the next) ~5 times.
    await snapshotMatchesTable(4000, 1, 4000);
  });
});
