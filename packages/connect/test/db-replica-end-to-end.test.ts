import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { openKafkaLog } from "@tributary/kafka";
import { type LogClient, openLog } from "@tributary/log";
import { afterEach, describe, expect, it } from "vitest";
import {
  BIN,
  NO_PG,
  type Spawned,
  cleanup,
  freshDatabase,
  readTopic,
  spawnCli,
  sql,
  tempDir,
  waitFor,
} from "./helpers.js";
import {
  TABLE_DDL,
  deletesWithoutTombstone,
  dumpAccounts,
  foldTopic,
  keysOutOfOrder,
  restartPostgres,
  runWorkload,
  seed,
} from "./replica-scenario.js";

afterEach(cleanup);

// `npm test` runs a short version; scripts/fault-loops.sh sets these for the long one.
const CHANGES = Number(process.env.TRIBUTARY_CONNECT_CHANGES ?? 10_000);
const KILLS = Number(process.env.TRIBUTARY_CONNECT_KILLS ?? 6);
const RESTART_PG = process.env.TRIBUTARY_CONNECT_RESTART_PG === "1";
// Killing stops after this many seconds even if fewer kills were made (fault-loops bound).
const KILL_SECONDS = Number(process.env.TRIBUTARY_FAULT_SECONDS ?? 600);
const SEED_ROWS = 2_000;
const IDS = 4_000;

/** The pid of each worker slot, from the supervisor's "worker N (pid P)" lines. */
function workerPids(run: Spawned): Map<number, number> {
  const pids = new Map<number, number>();
  for (const m of run.stderr().matchAll(/worker (\d+) \(pid (\d+)\)/g)) {
    pids.set(Number(m[1]), Number(m[2]));
  }
  return pids;
}

// The same run on Kafka when a broker is given (scripts/kafka.sh start prints it).
const KAFKA = process.env.TRIBUTARY_KAFKA_BROKERS ?? "";
const backends = [
  { backend: "the embedded broker", kafka: "" },
  ...(KAFKA === "" ? [] : [{ backend: "Kafka", kafka: KAFKA }]),
];

describe.skipIf(NO_PG).each(backends)("a database replicated through $backend", ({ kafka }) => {
  it(
    `replicates ${CHANGES} transactional changes with ${KILLS} SIGKILLs of source and sink workers${RESTART_PG ? " and a Postgres restart" : ""}`,
    async () => {
      const source = await freshDatabase("src");
      const replica = await freshDatabase("dst");
      await seed(source, SEED_ROWS);
      await sql(replica, TABLE_DDL);
      const dir = tempDir();
      // Names of their own: a Kafka cluster keeps topics, groups and connect-offsets across runs.
      const prefix = kafka === "" ? "shop" : `shop${Date.now().toString(36)}`;
      const topic = `${prefix}.public.accounts`;
      const file = path.join(dir, "replica.json");
      fs.writeFileSync(
        file,
        JSON.stringify({
          connectors: [
            {
              name: `${prefix}-cdc`,
              type: "postgres-source",
              config: {
                connection: source,
                tables: ["public.accounts"],
                topicPrefix: prefix,
                topicPartitions: 2,
                heartbeatIntervalMs: 500,
              },
            },
            {
              name: `${prefix}-replica`,
              type: "postgres-sink",
              tasksMax: 2,
              topics: [topic],
              config: { connection: replica },
            },
          ],
        }),
      );
      const data = path.join(dir, "data");
      const logArgs = kafka === "" ? ["--data", data] : ["--kafka", kafka];
      // Tasks go round robin: worker 0 runs cdc-0 and replica-1, worker 1 runs replica-0.
      const run = spawnCli(
        [
          "connect",
          "run",
          file,
          "--workers",
          "2",
          ...logArgs,
          "--max-restarts",
          "100000",
          "--progress",
          "plain",
        ],
        dir,
      );
      await waitFor(
        "both workers",
        async () =>
          workerPids(run).size === 2 ||
          (run.child.exitCode !== null && Promise.reject(new Error(run.stderr()))),
      );

      const workload = runWorkload(source, CHANGES, IDS);
      let finished = false;
      void workload.finally(() => {
        finished = true;
      });
      let kills = 0;
      let restarted = false;
      const killUntil = Date.now() + KILL_SECONDS * 1000;
      while ((kills < KILLS || (RESTART_PG && !restarted)) && Date.now() < killUntil) {
        await new Promise((r) => setTimeout(r, 800 + Math.random() * 1500));
        if (RESTART_PG && !restarted && kills >= KILLS / 2) {
          restartPostgres();
          restarted = true;
          continue;
        }
        const pids = workerPids(run);
        const slot = kills % 2;
        const pid = pids.get(slot);
        if (pid === undefined) continue;
        try {
          process.kill(pid, "SIGKILL");
          kills++;
        } catch {
          // already gone: its restart is on the way
        }
        // Wait for the restart, so each kill hits a live worker.
        await waitFor(`worker ${slot} to restart`, async () => workerPids(run).get(slot) !== pid);
        if (finished && kills >= KILLS) break;
      }
      await workload;
      const expected = await dumpAccounts(source);
      // On failure, show what the workers said: the test's own message would not tell why.
      await (async () => {
        await waitFor(
          "the replica to equal the source",
          async () => {
            const got = await dumpAccounts(replica);
            return got.length === expected.length && got.every((l, i) => l === expected[i]);
          },
          240_000,
        );
      })().catch((err: Error) => {
        throw new Error(
          `${err.message}\n--- connect run stderr (tail) ---\n${run.stderr().slice(-6000)}`,
        );
      });
      expect(await dumpAccounts(replica)).toEqual(expected);

      // tributary connect status: every task of the file reported RUNNING, the sinks caught up.
      // The replica equals the source once the rows are written; the sinks commit their
      // offsets after the writes, so their lag reaches 0 a commit later: asked until then.
      type TaskStatus = { task: string; state: string; lag: number | null };
      const tasks = await waitFor("the sinks' lag to reach 0", async () => {
        const status = spawnSync(
          process.execPath,
          [BIN, "connect", "status", file, "--json", ...logArgs],
          {
            encoding: "utf8",
            timeout: 60_000,
          },
        );
        expect(status.status, status.stderr).toBe(0);
        const all = JSON.parse(status.stdout) as TaskStatus[];
        const lags = all.filter((t) => t.task.includes("replica")).map((t) => t.lag);
        return lags.length === 2 && lags.every((l) => l === 0) ? all : undefined;
      });
      expect(tasks.map((t) => [t.task, t.state])).toEqual([
        [`${prefix}-cdc-0`, "RUNNING"],
        [`${prefix}-replica-0`, "RUNNING"],
        [`${prefix}-replica-1`, "RUNNING"],
      ]);

      // Per-key order, and a consumer that joins now rebuilds the whole table from the topic.
      const log: LogClient =
        kafka === "" ? await openLog({ dataDir: data }) : await openKafkaLog({ brokers: kafka });
      try {
        const records = await readTopic(log, topic);
        expect(keysOutOfOrder(records)).toEqual([]);
        expect(foldTopic(records)).toEqual(expected);
        expect(deletesWithoutTombstone(records)).toEqual([]);
      } finally {
        await log.close();
      }
    },
    600_000 + CHANGES * 15,
  );
});
