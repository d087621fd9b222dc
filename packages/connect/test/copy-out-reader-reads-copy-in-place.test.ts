import pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { afterEach, describe, expect, it } from "vitest";
import { BinaryCopyRows } from "../src/postgres/binary-copy-rows.js";
import { CopyOutReader } from "../src/postgres/copy-out-reader.js";
import { NO_PG, PG_URL } from "./helpers.js";

const clients: pg.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.end().catch(() => {});
});

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: PG_URL });
  c.on("error", () => {});
  await c.connect();
  clients.push(c);
  return c;
}

/** Every CopyData payload the reader hands over, joined, and how many reads it took. */
async function readAll(c: pg.Client, sql: string): Promise<{ bytes: Buffer; reads: number }> {
  const reader = c.query(new CopyOutReader(sql));
  const parts: Buffer[] = [];
  let reads = 0;
  while (
    await reader.read((src, _dv, start, end) => parts.push(Buffer.from(src.subarray(start, end))))
  ) {
    reads++;
  }
  return { bytes: Buffer.concat(parts), reads };
}

/** The same COPY through pg-copy-streams (the reader it replaced), as the reference. */
async function readByCopyStreams(c: pg.Client, sql: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of c.query(copyTo(sql))) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

// Rows of 0 to ~300 bytes and, every 5,000 rows, one of 3 MB: messages cut by the socket's
// chunks anywhere, and messages that span many chunks.
const SQL =
  "COPY (SELECT n, CASE WHEN n % 5000 = 0 THEN repeat('y', 3000000) ELSE repeat('x', n % 301) END " +
  "FROM generate_series(1, 20000) n) TO STDOUT (FORMAT binary)";

describe.skipIf(NO_PG)("CopyOutReader", () => {
  it("hands over the COPY's bytes as pg-copy-streams reads them, rows split in place", async () => {
    const c = await client();
    const { bytes, reads } = await readAll(c, SQL);
    expect(reads).toBeGreaterThan(1);
    expect(bytes.equals(await readByCopyStreams(c, SQL))).toBe(true);

    // Split by BinaryCopyRows from the reader's chunks directly: each row as generated.
    const rows = new BinaryCopyRows(2, "test");
    const reader = c.query(new CopyOutReader(SQL));
    let n = 0;
    let bad = 0;
    while (
      await reader.read((src, dv, start, end) =>
        rows.push(src, dv, start, end, (row, view) => {
          n++;
          const id = view.getInt32(rows.starts[0]!);
          const len = id % 5000 === 0 ? 3_000_000 : id % 301;
          const s = rows.starts[1]!;
          const expected = (id % 5000 === 0 ? "y" : "x").repeat(len);
          if (id !== n || row.toString("latin1", s, s + rows.lengths[1]!) !== expected) bad++;
        }),
      )
    );
    expect(rows.complete).toBe(true);
    expect({ n, bad }).toEqual({ n: 20000, bad: 0 });
    // The connection is the client's again.
    expect((await c.query("SELECT 41 + 1 AS v")).rows).toEqual([{ v: 42 }]);
  });

  it("rejects with Postgres' error when the COPY fails midway, and the client goes on", async () => {
    const c = await client();
    const sql =
      "COPY (SELECT n, 1 / (n - 15000) FROM generate_series(1, 20000) n) TO STDOUT (FORMAT binary)";
    let payload = 0;
    const reader = c.query(new CopyOutReader(sql));
    const failure = await (async () => {
      while (await reader.read((_s, _d, start, end) => (payload += end - start)));
    })().catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: "22012" }); // division_by_zero
    expect((await c.query("SELECT 1 AS v")).rows).toEqual([{ v: 1 }]);
  });

  it("after cancel() the client drains the rest of the COPY and answers the next query", async () => {
    const c = await client();
    const reader = c.query(new CopyOutReader(SQL));
    let payload = 0;
    expect(await reader.read((_s, _d, start, end) => (payload += end - start))).toBe(true);
    reader.cancel();
    expect(await reader.read(() => {})).toBe(false);
    expect((await c.query("SELECT 'after' AS v")).rows).toEqual([{ v: "after" }]);
  });
});
