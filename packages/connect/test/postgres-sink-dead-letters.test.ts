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

const key = (id: unknown) => Buffer.from(JSON.stringify({ id }));
const change = (op: string, after: unknown) =>
  Buffer.from(JSON.stringify({ before: null, after, op, ts_ms: 0, source: {} }));

describe.skipIf(NO_PG)("the Postgres sink", () => {
  it("upserts by key, deletes on tombstones, dead-letters what it cannot write, and a redelivery leaves the same rows", async () => {
    const url = await freshDatabase("sink");
    await sql(url, "CREATE TABLE items (id int PRIMARY KEY, name text, qty int)");
    const log = await openTestLog();
    await log.admin.createTopic("in.items", { partitions: 2 });
    const producer = log.producer();
    await producer.send("in.items", [
      { key: key(1), value: change("c", { id: 1, name: "a", qty: 1 }) },
      { key: key(2), value: change("c", { id: 2, name: "b", qty: 2 }) },
      { key: key(3), value: Buffer.from("not json") },
      { key: key(1), value: change("u", { id: 1, name: "a2", qty: 10 }) },
      { key: key(4), value: change("c", { id: 4, name: "d", qty: "many" }) },
      { key: key(2), value: change("d", null) },
      { key: key(2), value: null },
      { key: Buffer.from("{}"), value: change("c", { name: "no key" }) },
      { key: key(5), value: Buffer.from(JSON.stringify({ id: 5, name: "plain row", qty: 5 })) },
    ]);
    const file = {
      connectors: [
        {
          name: "items-sink",
          type: "postgres-sink",
          topics: ["in.items"],
          errors: { tolerance: "all", deadLetterTopic: "items-dlq" },
          config: { connection: url },
        },
      ],
    };
    let worker = await startWorker(log, file);
    const expected = [
      { id: 1, name: "a2", qty: 10 },
      { id: 5, name: "plain row", qty: 5 },
    ];
    await waitFor(
      "the good rows",
      async () =>
        JSON.stringify(await sql(url, "SELECT * FROM items ORDER BY id")) ===
        JSON.stringify(expected),
    );
    await waitFor(
      "three dead letters",
      async () => worker.metrics.total("records_dead_lettered") === 3,
    );
    const dead = await readTopic(log, "items-dlq");
    expect(dead.map((r) => r.headers["connect.error.message"]?.toString())).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/not JSON/),
        expect.stringMatching(/invalid input syntax for type integer/),
        expect.stringMatching(/lacks primary-key column id/),
      ]),
    );
    await worker.stop();

    await log.admin.resetOffsets("connect-items-sink", { to: "earliest" });
    worker = await startWorker(log, file);
    await waitFor("the batch applied again", async () => worker.metrics.total("records_put") >= 6);
    expect(await sql(url, "SELECT * FROM items ORDER BY id")).toEqual(expected);
    await producer.close();
  });
});
