import { afterEach, describe, expect, it } from "vitest";
import {
  NO_PG,
  cleanup,
  freshDatabase,
  openTestLog,
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
        {
          name: "cdc",
          type: "postgres-source",
          config: {
            connection: url,
            tables: ["quiet"],
            topicPrefix: "hb",
            heartbeatIntervalMs: 200,
          },
        },
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

  it("carries a column added while streaming into the records and into the replica", async () => {
    const source = await freshDatabase("cols");
    const replica = await freshDatabase("colsr");
    for (const url of [source, replica])
      await sql(url, "CREATE TABLE people (id int PRIMARY KEY, name text)");
    await sql(source, "INSERT INTO people VALUES (1, 'ann')");
    const log = await openTestLog();
    await startWorker(log, {
      connectors: [
        {
          name: "cdc",
          type: "postgres-source",
          config: {
            connection: source,
            tables: ["people"],
            topicPrefix: "cols",
            heartbeatIntervalMs: 200,
          },
        },
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
    expect(await sql(replica, "SELECT id, name, city FROM people ORDER BY id")).toEqual([
      { id: 1, name: "ann", city: "Rome" },
      { id: 2, name: "bob", city: "Oslo" },
    ]);
  });
});
