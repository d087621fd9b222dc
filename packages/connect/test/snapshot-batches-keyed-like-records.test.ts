import { partitionForKey } from "@tributary/log";
import { afterEach, describe, expect, it } from "vitest";
import {
  NO_PG,
  cleanup,
  freshDatabase,
  openTestLog,
  readTopic,
  sql,
  startWorker,
  waitFor,
} from "./helpers.js";

afterEach(cleanup);

const ROWS = 5000;
const PARTITIONS = 4;

describe.skipIf(NO_PG)("the snapshot's record batches (encoded by the source)", () => {
  it("put each row once on murmur2(key)'s partition, in table order, with the rows' values", async () => {
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
        {
          name: "cdc",
          type: "postgres-source",
          config: {
            connection: url,
            tables: ["items"],
            topicPrefix: "sb",
            topicPartitions: PARTITIONS,
            snapshotFetchRows: 700,
          },
        },
      ],
    });
    await waitFor("the snapshot", async () => worker.metrics.total("offset_commits") >= 1);
    expect(worker.metrics.total("snapshot_rows")).toBe(ROWS);
    expect(worker.metrics.total("records_sent")).toBeGreaterThanOrEqual(ROWS);

    const records = await readTopic(log, "sb.public.items");
    expect(records.length).toBe(ROWS);
    // The order a sequential scan reads the table in (not the ids': long values moved
    // rows), which is the COPY's: each partition must keep it.
    const scanned = await sql<{ id: number }>(url, "SELECT id FROM items");
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
  });
});
