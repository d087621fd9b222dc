import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { openLog } from "@tributary/log";
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

const ROWS = 700;

/** The value of the series `name` whose labels include `task="<task>"` (undefined: none). */
function taskSample(text: string, name: string, task: string): number | undefined {
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`${name}{`) && l.includes(`task="${task}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

function pgBin(name: string): string {
  const root = "/usr/lib/postgresql";
  for (const v of fs.existsSync(root) ? fs.readdirSync(root).sort().reverse() : []) {
    const p = path.join(root, v, "bin", name);
    if (fs.existsSync(p)) return p;
  }
  return name;
}

describe.skipIf(NO_PG)("tributary connect run --metrics", () => {
  it("serves per-task counts equal to what was replicated, and is ready only once the source serves", async () => {
    const { source, replica } = await itemsSourceAndReplica("m", ROWS);
    // Another client holds the source's slot, so the source cannot start: it restarts
    // with backoff, and the run must not say ready meanwhile.
    await sql(source, "SELECT pg_create_logical_replication_slot('tributary_m', 'test_decoding')");
    const holder = spawn(
      pgBin("pg_recvlogical"),
      ["-d", source, "-S", "tributary_m", "--start", "-f", "/dev/null", "--no-loop"],
      { stdio: "ignore" },
    );
    const holderExited = new Promise((resolve) => holder.once("exit", resolve));
    try {
      await waitFor("the slot to be held", async () => {
        const [s] = await sql<{ active: boolean }>(
          source,
          "SELECT active FROM pg_replication_slots WHERE slot_name = 'tributary_m'",
        );
        return s?.active === true;
      });

      const dir = tempDir();
      const file = path.join(dir, "replicate.json");
      fs.writeFileSync(
        file,
        JSON.stringify({
          connectors: [
            {
              name: "cdc",
              type: "postgres-source",
              config: {
                connection: source,
                tables: ["items"],
                topicPrefix: "m",
                heartbeatIntervalMs: 500,
              },
            },
            {
              name: "copy",
              type: "postgres-sink",
              topics: ["m.public.items"],
              config: { connection: replica, tables: { "m.public.items": "public.items" } },
            },
          ],
        }),
      );
      const data = path.join(dir, "data");
      const run = spawnCli(
        ["connect", "run", file, "--metrics", "127.0.0.1:0", "--progress", "none", "--data", data],
        dir,
      );
      const address = await waitFor(
        "the metrics address",
        async () => /metrics on http:\/\/(\S+)\/metrics/.exec(run.stderr())?.[1],
      );
      const scrape = async () => (await fetch(`http://${address}/metrics`)).text();

      // The source fails to start (slot in use) and is restarted; the sink serves.
      const notReady = await waitFor("the source to fail on the held slot", async () => {
        const text = await scrape();
        const ready = await fetch(`http://${address}/readyz`);
        const restarts = taskSample(text, "tributary_connect_task_task_restarts_total", "cdc-0");
        return restarts !== undefined && restarts >= 1 && ready.status === 503
          ? { text, body: await ready.text() }
          : undefined;
      });
      expect(notReady.body).toMatch(/connector tasks serving/);
      expect(taskSample(notReady.text, "tributary_connect_task_serving", "cdc-0")).toBe(0);
      holder.kill("SIGTERM");
      await holderExited;

      // Released: the snapshot runs and the run becomes ready.
      await waitFor("the snapshot counted and the run ready", async () => {
        const text = await scrape();
        const ready = await fetch(`http://${address}/readyz`);
        return taskSample(text, "tributary_connect_task_snapshot_rows_total", "cdc-0") === ROWS &&
          ready.status === 200
          ? true
          : undefined;
      });

      // Changes: 4 transactions of 25 updates, then one of 30 deletes.
      for (let t = 0; t < 4; t++) {
        await sql(source, "UPDATE items SET v = v || 'x' WHERE id > $1 AND id <= $2", [
          t * 25,
          (t + 1) * 25,
        ]);
      }
      await sql(source, "DELETE FROM items WHERE id > $1", [ROWS - 30]);
      const updates = 100;
      const deletes = 30;
      const transactions = 5;
      // Each delete is followed by a tombstone in the table's topic.
      const tableRecords = ROWS + updates + 2 * deletes;

      const text = await waitFor("the changes replicated and counted", async () => {
        const t = await scrape();
        const done =
          taskSample(t, "tributary_connect_task_changes_total", "cdc-0") === updates + deletes &&
          taskSample(t, "tributary_connect_task_records_put_total", "copy-0") === tableRecords &&
          taskSample(t, "tributary_connect_task_lag", "copy-0") === 0;
        return done ? t : undefined;
      });
      const [count] = await sql<{ n: number }>(replica, "SELECT count(*)::int AS n FROM items");
      expect(count?.n).toBe(ROWS - deletes);

      // What the log holds, read independently of the worker's counters.
      const log = await openLog({ dataDir: data });
      let logged = 0;
      try {
        for (const topic of ["m.public.items", "m.transactions", "m.heartbeat"]) {
          for (const o of await log.admin.listOffsets(topic, "latest")) logged += o.offset;
        }
        const [items] = await log.admin.listOffsets("m.public.items", "latest");
        expect(items!.offset).toBe(tableRecords);
        const [txns] = await log.admin.listOffsets("m.transactions", "latest");
        expect(txns!.offset).toBe(transactions);
      } finally {
        await log.close();
      }
      const at = (name: string, task: string) => taskSample(text, name, task);
      // Sent: the table's records, the transactions' ends and the heartbeats (the last one
      // counted may still be on its way to the log); never more than the log holds.
      const sent = at("tributary_connect_task_records_sent_total", "cdc-0")!;
      const heartbeats = at("tributary_connect_task_heartbeats_total", "cdc-0")!;
      expect(heartbeats).toBeGreaterThanOrEqual(1);
      expect(sent).toBeGreaterThanOrEqual(tableRecords + transactions + heartbeats - 1);
      expect(sent).toBeLessThanOrEqual(tableRecords + transactions + heartbeats);
      expect(sent).toBeLessThanOrEqual(logged);
      expect(at("tributary_connect_task_records_received_total", "copy-0")).toBe(tableRecords);
      expect(at("tributary_connect_task_rows_deleted_total", "copy-0")).toBeGreaterThanOrEqual(1);
      expect(at("tributary_connect_task_records_dead_lettered_total", "copy-0")).toBe(0);
      expect(at("tributary_connect_task_snapshot_tables", "cdc-0")).toBe(1);
      expect(at("tributary_connect_task_snapshot_tables_done", "cdc-0")).toBe(1);
      expect(at("tributary_connect_task_serving", "cdc-0")).toBe(1);
      expect(at("tributary_connect_task_serving", "copy-0")).toBe(1);
      // The LSN reported as confirmed is confirmed at the server.
      const confirmed = at("tributary_connect_task_confirmed_lsn", "cdc-0")!;
      expect(confirmed).toBeGreaterThan(0);
      await waitFor("the slot to show the confirmed position", async () => {
        const [slot] = await sql<{ n: string }>(
          source,
          "SELECT (confirmed_flush_lsn - '0/0')::text AS n FROM pg_replication_slots WHERE slot_name = 'tributary_m'",
        );
        return Number(slot?.n ?? 0) >= confirmed;
      });
      expect(at("tributary_connect_task_replication_lag_bytes", "cdc-0")).toBeGreaterThanOrEqual(0);
      run.child.kill("SIGTERM");
      expect(await run.exited).toBe(0);
    } finally {
      if (holder.exitCode === null && holder.signalCode === null) holder.kill("SIGTERM");
      await holderExited;
    }
  });
});
