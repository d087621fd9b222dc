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

async function lsnNumber(url: string, expr: string, params: unknown[] = []): Promise<bigint> {
  const [row] = await sql<{ n: string | null }>(url, `SELECT (${expr} - '0/0')::text AS n`, params);
  return BigInt(row?.n ?? "0");
}

describe.skipIf(NO_PG)("the Postgres source over time", () => {
  it("confirms the server's position while its tables are idle, so other tables' WAL is not pinned", async () => {
    const url = await freshDatabase("hb");
    await sql(url, "CREATE TABLE quiet (id int PRIMARY KEY)");
    await sql(url, "CREATE TABLE busy (id int PRIMARY KEY, v text)");
    const log = await openTestLog();
    const worker = await startWorker(log, {
      connectors: [
        cdcSource({
          connection: url,
          tables: ["quiet"],
          topicPrefix: "hb",
          heartbeatIntervalMs: 200,
        }),
      ],
    });
    await waitFor("the stream to start", async () => worker.metrics.total("heartbeats") >= 1);
    await sql(url, "INSERT INTO busy SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g");
    const written = await lsnNumber(url, "pg_current_wal_lsn()");
    await waitFor("the slot to pass the other table's writes", async () => {
      const slot = await lsnNumber(
        url,
        "(SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1)",
        ["tributary_hb"],
      );
      return slot >= written;
    });
    expect(worker.metrics.total("changes")).toBe(0);
  });

  it("carries an added column, and a delete with its tombstone, into the records and the replica", async () => {
    const source = await freshDatabase("cols");
    const replica = await freshDatabase("colsr");
    for (const url of [source, replica])
      await sql(url, "CREATE TABLE people (id int PRIMARY KEY, name text)");
    await sql(source, "INSERT INTO people VALUES (1, 'ann')");
    const log = await openTestLog();
    await startWorker(log, {
      connectors: [
        cdcSource({
          connection: source,
          tables: ["people"],
          topicPrefix: "cols",
          heartbeatIntervalMs: 200,
        }),
        {
          name: "rep",
          type: "postgres-sink",
          topics: ["cols.public.people"],
          config: { connection: replica },
        },
      ],
    });
    await waitFor(
      "the snapshot row in the replica",
      async () => (await sql(replica, "SELECT 1 FROM people WHERE id = 1")).length === 1,
    );
    await sql(source, "ALTER TABLE people ADD COLUMN city text");
    await sql(source, "INSERT INTO people VALUES (2, 'bob', 'Oslo')");
    await sql(source, "UPDATE people SET city = 'Rome' WHERE id = 1");
    await waitFor("both rows with their city", async () => {
      const rows = await sql<{ id: number; city: string }>(
        replica,
        "SELECT id, city FROM people ORDER BY id",
      ).catch(() => []);
      return rows.length === 2 && rows[0]?.city === "Rome" && rows[1]?.city === "Oslo";
    });
    // A delete is a "d" change followed by a tombstone of the same key.
    await sql(source, "DELETE FROM people WHERE id = 2");
    await waitFor(
      "the delete in the replica",
      async () => (await sql(replica, "SELECT 1 FROM people WHERE id = 2")).length === 0,
    );
    const records = await readTopic(log, "cols.public.people");
    const last = records.slice(-2);
    expect(last.map((r) => r.key?.toString())).toEqual(['{"id":2}', '{"id":2}']);
    expect(JSON.parse(last[0]!.value!.toString())).toMatchObject({
      op: "d",
      before: { id: 2 },
      after: null,
    });
    expect(last[1]!.value).toBeNull();
    const added = records.find(
      (r) => r.value !== null && JSON.parse(r.value.toString()).after?.id === 2,
    )!;
    expect(JSON.parse(added.value!.toString())).toMatchObject({
      op: "c",
      after: { id: 2, name: "bob", city: "Oslo" },
    });
    // The key comes back after its tombstone: the replica gets the row again.
    await sql(source, "INSERT INTO people VALUES (2, 'bob', 'Oslo')");
    await waitFor(
      "the row again in the replica",
      async () => (await sql(replica, "SELECT 1 FROM people WHERE id = 2")).length === 1,
    );
    expect(await sql(replica, "SELECT id, name, city FROM people ORDER BY id")).toEqual([
      { id: 1, name: "ann", city: "Rome" },
      { id: 2, name: "bob", city: "Oslo" },
    ]);
  });
});
