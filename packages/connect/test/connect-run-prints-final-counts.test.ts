import * as fs from "node:fs";
import * as path from "node:path";
import { type LogClient, openLog } from "@tributary/log";
import { afterEach, describe, expect, it } from "vitest";
import {
  NO_PG,
  cleanup,
  itemsSourceAndReplica,
  spawnCli,
  sql,
  tempDir,
  waitFor,
} from "./helpers.js";

afterEach(cleanup);

const ROWS = 300;
const UPDATES = 40;

/** The records every partition of `topic` holds (their end offsets summed). */
async function held(log: LogClient, topic: string): Promise<number> {
  let n = 0;
  for (const o of await log.admin.listOffsets(topic, "latest")) n += o.offset;
  return n;
}

describe.skipIf(NO_PG)("tributary connect run", () => {
  it("prints the run's final counts per connector when it stops, dead letters included", async () => {
    const { source, replica } = await itemsSourceAndReplica("f", ROWS);

    // A second input of the sink, written before the run: 4 good rows and 2 it must
    // dead-letter (not JSON; no primary key).
    const dir = tempDir();
    const data = path.join(dir, "data");
    const before = await openLog({ dataDir: data });
    const row = (after: unknown) =>
      Buffer.from(JSON.stringify({ before: null, after, op: "c", ts_ms: 0, source: {} }));
    try {
      await before.admin.createTopic("in.items", { partitions: 2 });
      const producer = before.producer();
      await producer.send(
        "in.items",
        [1001, 1002, 1003, 1004].map((id) => ({
          key: Buffer.from(JSON.stringify({ id })),
          value: row({ id, v: `extra ${id}` }),
        })),
      );
      await producer.send("in.items", [
        { key: Buffer.from('{"id":1005}'), value: Buffer.from("not json") },
        { key: Buffer.from("{}"), value: row({ v: "no key" }) },
      ]);
      await producer.close();
    } finally {
      await before.close();
    }

    const file = path.join(dir, "replicate.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        connectors: [
          {
            name: "cdc",
            type: "postgres-source",
            config: { connection: source, tables: ["items"], topicPrefix: "f" },
          },
          {
            name: "copy",
            type: "postgres-sink",
            topics: ["f.public.items", "in.items"],
            errors: { tolerance: "all", deadLetterTopic: "copy-dlq" },
            config: {
              connection: replica,
              tables: { "f.public.items": "public.items", "in.items": "public.items" },
            },
          },
        ],
      }),
    );
    const run = spawnCli(["connect", "run", file, "--progress", "none", "--data", data], dir);
    // Opened only once the run's broker serves the data directory (it says so), so this
    // client connects to it rather than taking the directory's lock.
    await waitFor("the run to start", async () => run.stderr().includes("running 2 connectors"));
    const live = await openLog({ dataDir: data });
    try {
      await waitFor("the snapshot replicated", async () => {
        const [c] = await sql<{ n: number }>(replica, "SELECT count(*)::int AS n FROM items");
        return c?.n === ROWS + 4;
      });
      await sql(source, "UPDATE items SET v = v || 'x' WHERE id <= $1", [UPDATES]);
      await waitFor("the updates replicated and the bad records dead-lettered", async () => {
        const [c] = await sql<{ n: number }>(
          replica,
          "SELECT count(*)::int AS n FROM items WHERE v LIKE '%x'",
        );
        return c?.n === UPDATES && (await held(live, "copy-dlq")) === 2;
      });
      // The sink has committed everything it read: nothing more to put before stopping.
      await waitFor("the sink's group to have no lag", async () => {
        const d = await live.admin.describeGroup("connect-copy");
        return d.offsets.length > 0 && d.offsets.every((o) => o.lag === 0);
      });
    } finally {
      await live.close();
    }
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);

    // The reference counts, read from the log itself once the run has stopped.
    const log = await openLog({ dataDir: data });
    let sent = 0;
    let table = 0;
    let extra = 0;
    let dead = 0;
    try {
      for (const topic of await log.admin.listTopics()) {
        if (topic.startsWith("f.")) sent += await held(log, topic);
      }
      table = await held(log, "f.public.items");
      extra = await held(log, "in.items");
      dead = await held(log, "copy-dlq");
    } finally {
      await log.close();
    }
    expect(table).toBe(ROWS + UPDATES);
    expect(dead).toBe(2);
    const received = table + extra;
    const put = received - dead;

    const err = run.stderr();
    const lines = err.split("\n");
    // A task that fails is restarted with a warning saying so (the sink, when it starts
    // before the source has created its topic): the warnings are the reference.
    const restarts = (task: string) =>
      lines.filter((l) => l.includes(`${task}: failed:`) && l.includes("restarting in")).length;
    const at = lines.findIndex((l) => l.includes("stopped connectors:"));
    expect(at, err).toBeGreaterThanOrEqual(0);
    expect(lines[at]).toContain(
      `sources sent ${sent} records, sinks put ${put}; ${dead} dead-lettered; 0 lost to retention; ${restarts("cdc-0") + restarts("copy-0")} task restarts`,
    );
    expect(lines[at + 1]).toMatch(
      new RegExp(
        `^\\s+cdc \\(postgres-source, 1 task\\): sent ${sent} records \\(snapshot rows ${ROWS}, changes ${UPDATES}(, heartbeats \\d+)?\\); ${restarts("cdc-0")} task restarts$`,
      ),
    );
    expect(lines[at + 2]).toMatch(
      new RegExp(
        `^\\s+copy \\(postgres-sink, 1 task\\): received ${received}, put ${put} records; ${dead} dead-lettered to 'copy-dlq'; 0 lost to retention; ${restarts("copy-0")} task restarts$`,
      ),
    );
  });
});
