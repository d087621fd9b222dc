import * as fs from "node:fs";
import { RecordBatch, partitionForKey } from "@tributary/log";
import { afterEach, describe, expect, it } from "vitest";
import type { SourceBatch } from "../src/connector.js";
import { ConnectError } from "../src/errors.js";
import { createSlotWithSnapshot } from "../src/postgres/postgres-catalog.js";
import {
  SnapshotEncoderPool,
  chunkBuffer,
  chunkError,
} from "../src/postgres/snapshot-encoder-pool.js";
import { TableSnapshot } from "../src/postgres/table-snapshot.js";
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

const PARTITIONS = 4;
const TABLE = { schema: "public", table: "items", keyColumns: ["id"] };
/** A fixed envelope, so that two snapshots taken at different times write the same bytes. */
const HEAD = Buffer.from('{"before":null,"after":');
const TAIL = Buffer.from(',"op":"r"}');

/** Each partition's records (key, value, headers as text), in log order. */
type Partitions = Map<number, string[]>;

/** Takes the whole snapshot of `items` with `pool` (or on this thread) into `Partitions`. */
async function drain(
  url: string,
  snapshotName: string,
  slotConnection: unknown,
  pool?: SnapshotEncoderPool,
) {
  const slot = { connection: slotConnection as never, snapshotName };
  // Each snapshot ends the slot's connection when it closes: the first must not.
  const connection = { end: async () => {} } as never;
  const snapshot = await TableSnapshot.open(
    url,
    pool === undefined ? { ...slot, connection } : slot,
    [TABLE],
    {
      batchRecords: 700,
      topicOf: () => "t",
      envelope: () => ({ head: HEAD, tail: TAIL }),
      warn: (m) => {
        throw new Error(`unexpected warning: ${m}`);
      },
      partitionsOf: async () => PARTITIONS,
      ...(pool !== undefined ? { pool } : {}),
    },
  );
  const out: Partitions = new Map();
  let rows = 0;
  try {
    for (;;) {
      const next = await snapshot.next();
      rows += next.rows;
      for (const r of next.records) {
        const b = r as SourceBatch;
        expect(b.topic).toBe("t");
        const list = out.get(b.partition) ?? [];
        out.set(b.partition, list);
        let n = 0;
        new RecordBatch(unstamped(b.batch)).forEach((rec) => {
          n++;
          list.push(
            `${rec.key?.toString("hex")} ${rec.value?.toString("hex")} ${JSON.stringify(rec.headers)}`,
          );
        });
        expect(n).toBe(b.records);
      }
      if (next.done) break;
    }
  } finally {
    await snapshot.close();
  }
  return { out, rows };
}

describe.skipIf(NO_PG)("the snapshot encoded on threads", () => {
  it("writes the records the task's thread writes: same partitions, order and bytes, a 3 MB row among them", async () => {
    const url = await freshDatabase("snapthreads");
    await sql(
      url,
      "CREATE TABLE items (id int PRIMARY KEY, name text, n numeric, at timestamptz, j jsonb, ok bool, f float8, bin bytea, big bigint)",
    );
    // Values that exercise the encoders: escapes and non-ASCII text, NULLs, numerics,
    // times, JSON, bytea; every 7th row NULL in the nullable columns.
    await sql(
      url,
      `INSERT INTO items SELECT g,
         CASE WHEN g % 7 = 0 THEN NULL ELSE 'n "' || g || E'\\\\ é\\t' || repeat('x', g % 300) END,
         g * 1.25, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second',
         jsonb_build_object('g', g, 's', 'q"' || g), g % 2 = 0, g / 3.0, int4send(g), g::bigint * 100000000
       FROM generate_series(1, 30000) g`,
    );
    // A 3 MB row: one CopyData message read over many socket chunks, bigger than a chunk.
    await sql(url, "INSERT INTO items (id, name) VALUES (0, repeat('m', 3 * 1024 * 1024))");
    const slot = await createSlotWithSnapshot(url, "snapthreads");
    const pool = new SnapshotEncoderPool(2);
    const one = await drain(url, slot.snapshotName, slot.connection);
    const threaded = await drain(url, slot.snapshotName, slot.connection, pool);
    expect(threaded.rows).toBe(30001);
    expect(one.rows).toBe(30001);
    expect([...threaded.out.keys()].sort()).toEqual([...one.out.keys()].sort());
    for (const [p, list] of one.out) {
      const other = threaded.out.get(p)!;
      expect(other.length).toBe(list.length);
      // One by one, so that a failure names the record, not two 30,000-element arrays.
      for (let i = 0; i < list.length; i++)
        if (other[i] !== list[i]) expect(other[i]).toBe(list[i]);
    }
    // Independently of the encoders: the 3 MB row's value parses to the table's.
    const all = [...threaded.out.values()].flat();
    const big = all.find((r) => r.startsWith(Buffer.from('{"id":0}').toString("hex")))!;
    const value = JSON.parse(Buffer.from(big.split(" ")[1]!, "hex").toString());
    expect(value.after.name).toBe("m".repeat(3 * 1024 * 1024));
    expect(all.length).toBe(30001);
  });

  it("writes a 3 MB row that opens its partition's batch, on either thread", async () => {
    // The row's record outgrows an empty batch's buffer: before, the batch was closed
    // empty ("a record batch needs at least one record").
    const url = await freshDatabase("snapthreadsbig");
    await sql(url, "CREATE TABLE items (id int PRIMARY KEY, name text)");
    await sql(url, "INSERT INTO items VALUES (1, repeat('m', 3 * 1024 * 1024)), (2, 'small')");
    const slot = await createSlotWithSnapshot(url, "snapthreadsbig");
    const one = await drain(url, slot.snapshotName, slot.connection);
    const threaded = await drain(
      url,
      slot.snapshotName,
      slot.connection,
      new SnapshotEncoderPool(1),
    );
    for (const { out, rows } of [one, threaded]) {
      expect(rows).toBe(2);
      const values = [...out.values()]
        .flat()
        .map((r) => JSON.parse(Buffer.from(r.split(" ")[1]!, "hex").toString()));
      expect(values.map((v) => v.after.name).sort()).toEqual([
        "m".repeat(3 * 1024 * 1024),
        "small",
      ]);
    }
  });

  it("stops its threads when Postgres ends the COPY midway, and the read fails", async () => {
    const url = await freshDatabase("snapthreadsfail");
    await sql(url, "CREATE TABLE items (id int PRIMARY KEY, name text)");
    await sql(
      url,
      "INSERT INTO items SELECT g, repeat('v', 200) FROM generate_series(1, 200000) g",
    );
    const slot = await createSlotWithSnapshot(url, "snapthreadsfail");
    const pool = new SnapshotEncoderPool(2);
    const snapshot = await TableSnapshot.open(url, slot, [TABLE], {
      batchRecords: 1000,
      topicOf: () => "t",
      envelope: () => ({ head: HEAD, tail: TAIL }),
      warn: () => {},
      partitionsOf: async () => PARTITIONS,
      pool,
    });
    const first = await snapshot.next();
    expect(first.rows).toBeGreaterThan(0);
    expect(first.done).toBe(false);
    // The COPY's backend ends while chunks are with the threads.
    await sql(
      url,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT%' AND datname = current_database() AND pid <> pg_backend_pid()",
    );
    const failure = await (async () => {
      for (;;) {
        const next = await snapshot.next();
        if (next.done) return undefined;
      }
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    expect(String(failure)).toMatch(/terminat|Connection/i);
    await snapshot.close();
    expect(pool.running).toBe(0);
  });

  it("names the table and the row when a thread cannot encode a chunk", async () => {
    const pool = new SnapshotEncoderPool(1);
    try {
      const table = { schema: "public", table: "pairs", keyColumns: ["a"] };
      const fields = [
        { name: "a", oid: 23 },
        { name: "b", oid: 23 },
      ];
      pool.table({
        table,
        topic: "t",
        types: { fields, enums: [], extraFloatDigits: 1 },
        partitions: 1,
        name: "snapshot of public.pairs",
        chunkBytes: 1024,
      });
      // Binary COPY written by hand (format: binary-copy-rows.ts): the header and three
      // rows of two int4s, then a chunk whose second row has three fields.
      const row = (...values: number[]) => {
        const b = Buffer.alloc(2 + 8 * values.length);
        b.writeInt16BE(values.length, 0);
        values.forEach((v, i) => {
          b.writeInt32BE(4, 2 + 8 * i);
          b.writeInt32BE(v, 6 + 8 * i);
        });
        return b;
      };
      const header = Buffer.concat([Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)]);
      const chunk = (parts: Buffer[]) => {
        const bytes = Buffer.concat(parts);
        const c = chunkBuffer(bytes.length);
        bytes.copy(c);
        return c;
      };
      const envelope = { head: HEAD, tail: TAIL, now: Date.now() };
      const ok = await pool.encode(chunk([header, row(1, 10), row(2, 20), row(3, 30)]), {
        first: true,
        last: false,
        ...envelope,
      });
      expect(ok.ok && ok.rows).toBe(3);
      if (ok.ok) {
        const values: string[] = [];
        new RecordBatch(unstamped(ok.batches[0]!.batch)).forEach((r) => {
          values.push(r.value!.toString());
        });
        expect(values[2]).toBe(`${HEAD}{"a":3,"b":30}${TAIL}`);
      }
      const bad = await pool.encode(chunk([row(4, 40), row(5, 50, 500)]), {
        first: false,
        last: true,
        ...envelope,
      });
      expect(bad.ok).toBe(false);
      if (!bad.ok) {
        const error = chunkError("snapshot of public.pairs", 3, bad);
        expect(error).toBeInstanceOf(ConnectError);
        expect(error.message).toBe(
          "snapshot of public.pairs: row 5: unexpected COPY output: a row of 3 fields, expected 2",
        );
      }
    } finally {
      await pool.close();
    }
    expect(pool.running).toBe(0);
  });

  it("resumes a snapshot stopped midway, and stopping leaves no thread running", async () => {
    const url = await freshDatabase("snapthreadsresume");
    await sql(url, "CREATE TABLE items (id int PRIMARY KEY, v text)");
    const ROWS = 150_000;
    await sql(
      url,
      "INSERT INTO items SELECT g, repeat('v', g % 100) FROM generate_series(1, $1) g",
      [ROWS],
    );
    const log = await openTestLog();
    const threadsBefore = osThreads();
    const file = {
      connectors: [
        cdcSource({
          connection: url,
          tables: ["items"],
          topicPrefix: "st",
          topicPartitions: PARTITIONS,
          snapshotFetchRows: 2000,
          snapshotEncodeThreads: 2,
        }),
      ],
    };
    const first = await startWorker(log, file);
    await waitFor("some snapshot rows", async () => first.metrics.total("snapshot_rows") > 0);
    await first.stop();
    const sentBefore = first.metrics.total("records_sent");
    // Stopped midway (it polls every 100 ms, 2,000 rows a batch), else there is no resume.
    expect(sentBefore).toBeLessThan(ROWS);
    // The encoding threads are gone once the task stopped (their OS threads ended).
    await waitFor("the threads' end", async () => osThreads() <= threadsBefore, 60_000);
    const second = await startWorker(log, file);
    await waitFor("the snapshot", async () => second.metrics.total("offset_commits") >= 1);
    await second.stop();
    const records = await readTopic(log, "st.public.items");
    // Every row, at least once (the first run's records stay; the second takes it again).
    const ids = new Set(records.map((r) => JSON.parse(r.key!.toString()).id as number));
    expect(ids.size).toBe(ROWS);
    expect(records.length).toBe(sentBefore + ROWS);
    // The second run's records: the last of each partition, in the table's scan order.
    const scanned = await sql<{ id: number }>(url, "SELECT id FROM items ORDER BY ctid");
    const byPartition = new Map<number, typeof records>();
    for (const r of records) {
      const list = byPartition.get(r.partition) ?? [];
      byPartition.set(r.partition, list);
      list.push(r);
    }
    const expected = new Map<number, number[]>();
    for (const { id } of scanned) {
      const p = partitionForKey(Buffer.from(JSON.stringify({ id })), PARTITIONS);
      const list = expected.get(p) ?? [];
      expected.set(p, list);
      list.push(id);
    }
    for (const [p, ids] of expected) {
      const list = byPartition.get(p)!;
      const second = list.slice(list.length - ids.length);
      expect(second.map((r) => JSON.parse(r.key!.toString()).id)).toEqual(ids);
    }
  });
});

/**
 * A batch as the source hands it over, readable: the producer writes its attributes
 * (0: uncompressed, not transactional) with its id and the CRC when it appends it.
 */
function unstamped(batch: Buffer): Buffer {
  batch.writeInt16BE(0, 21); // v2 header: baseOffset 8, length 4, epoch 4, magic 1, crc 4
  return batch;
}

/** This process's OS threads (Linux), which a worker thread adds to while it runs. */
function osThreads(): number {
  const status = fs.readFileSync("/proc/self/status", "utf8");
  return Number(/^Threads:\s+(\d+)/m.exec(status)![1]);
}
