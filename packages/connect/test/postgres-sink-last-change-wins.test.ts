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

type Item = { id: number; name: string; qty: number; note: string };

/**
 * A deterministic mix of changes over few keys: upserts as envelopes (compact or
 * pretty-printed JSON, names with quotes and non-ASCII), plain rows, deletes as a source
 * writes them (envelope then tombstone), bare tombstones, deletes followed at once by a
 * re-insert and the reverse, and envelopes whose `after` disagrees with the key.
 */
function changes(count: number, keys: number) {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const records: { key: Buffer; value: Buffer | null }[] = [];
  const key = (id: number) => Buffer.from(JSON.stringify({ id }));
  const envelope = (op: string, after: unknown, pretty = false) =>
    Buffer.from(
      JSON.stringify(
        { before: null, after, op, ts_ms: 1, source: { connector: "test", lsn: "0/1" } },
        null,
        pretty ? 1 : undefined,
      ),
    );
  const row = (id: number, i: number): Item => ({
    id,
    name: `n"${i}" é ${"x".repeat(rand(40))}`,
    qty: i,
    note: "y".repeat(100 + rand(100)),
  });
  for (let i = 0; records.length < count; i++) {
    const id = 1 + rand(keys);
    const kind = rand(10);
    if (kind <= 3) records.push({ key: key(id), value: envelope(i % 2 ? "u" : "c", row(id, i)) });
    else if (kind === 4) records.push({ key: key(id), value: envelope("u", row(id, i), true) });
    else if (kind === 5)
      records.push({ key: key(id), value: Buffer.from(JSON.stringify(row(id, i))) });
    else if (kind === 6) {
      records.push({ key: key(id), value: envelope("d", null) }, { key: key(id), value: null });
    } else if (kind === 7) {
      records.push(
        { key: key(id), value: null },
        { key: key(id), value: envelope("c", row(id, i)) },
      );
    } else if (kind === 8) {
      records.push(
        { key: key(id), value: envelope("c", row(id, i)) },
        { key: key(id), value: null },
      );
    } else {
      // The key wins over the row's own id.
      records.push({ key: key(id), value: envelope("u", row(id + 100_000, i)) });
    }
  }
  return records;
}

/** The rows the changes leave, replayed one by one in order. */
function reference(records: { key: Buffer; value: Buffer | null }[]): Item[] {
  const rows = new Map<number, Item>();
  for (const r of records) {
    const { id } = JSON.parse(r.key.toString()) as { id: number };
    const v = r.value === null ? null : JSON.parse(r.value.toString());
    const after = v === null ? null : "op" in v ? (v.op === "d" ? null : v.after) : v;
    if (after === null) rows.delete(id);
    else rows.set(id, { ...after, id });
  }
  return [...rows.values()].sort((a, b) => a.id - b.id);
}

describe.skipIf(NO_PG)("the Postgres sink", () => {
  it("ends with each key's last change over batches decoded ahead, with repeated keys and delete/re-insert, and again on redelivery", async () => {
    const url = await freshDatabase("sinklast");
    await sql(url, "CREATE TABLE items (id int PRIMARY KEY, name text, qty int, note text)");
    const log = await openTestLog();
    await log.admin.createTopic("in.items", { partitions: 2 });
    // About 12 MB: several polls of the sink, so batches are decoded while others write.
    const records = changes(50_000, 2_000);
    const producer = log.producer();
    for (let i = 0; i < records.length; i += 5_000) {
      await producer.send("in.items", records.slice(i, i + 5_000));
    }
    await producer.close();
    const expected = reference(records);
    expect(expected.length).toBeGreaterThan(100);
    const file = {
      connectors: [
        {
          name: "items-sink",
          type: "postgres-sink",
          topics: ["in.items"],
          config: { connection: url, addColumns: false },
        },
      ],
    };
    const table = () => sql<Item>(url, "SELECT id, name, qty, note FROM items ORDER BY id");
    let worker = await startWorker(log, file);
    await waitFor(
      "every record put",
      async () => worker.metrics.total("records_put") >= records.length,
    );
    expect(await table()).toEqual(expected);
    expect(worker.metrics.total("batches_prepared")).toBeGreaterThan(0);
    await worker.stop();

    await sql(url, "UPDATE items SET qty = -1");
    await log.admin.resetOffsets("connect-items-sink", { to: "earliest" });
    worker = await startWorker(log, file);
    await waitFor(
      "every record put again",
      async () => worker.metrics.total("records_put") >= records.length,
    );
    expect(await table()).toEqual(expected);
  });
});
