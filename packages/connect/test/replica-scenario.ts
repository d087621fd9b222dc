import { spawnSync } from "node:child_process";
import * as path from "node:path";
import type { LogRecord } from "@tributary/log";
import pg from "pg";

/**
 * The database-replication scenario shared by the end-to-end tests (embedded log and
 * Kafka): a table of accounts with a random transactional workload of upserts, updates
 * and deletes, and the checks of the result.
 */
export const TABLE_DDL =
  "CREATE TABLE accounts (id int PRIMARY KEY, version int NOT NULL, balance bigint NOT NULL, name text)";

export async function seed(url: string, rows: number): Promise<void> {
  const c = await connect(url);
  await c.query(TABLE_DDL);
  await c.query(
    "INSERT INTO accounts SELECT g, 1, g * 10, 'acct ' || g FROM generate_series(1, $1) g",
    [rows],
  );
  await c.end();
}

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on("error", () => {});
  await c.connect();
  return c;
}

/**
 * `changes` row changes in transactions of 1-8 statements over ids 1..`ids`: 50% upsert
 * (insert, or bump version and balance), 30% update of an existing row, 20% delete. A
 * lost connection (Postgres restarting) is retried: the checks compare the final tables,
 * so whether an interrupted transaction committed does not matter.
 */
export async function runWorkload(url: string, changes: number, ids: number): Promise<number> {
  let c = await connect(url);
  let done = 0;
  let txns = 0;
  while (done < changes) {
    const n = Math.min(1 + Math.floor(Math.random() * 8), changes - done);
    try {
      await c.query("BEGIN");
      for (let i = 0; i < n; i++) {
        const id = 1 + Math.floor(Math.random() * ids);
        const r = Math.random();
        if (r < 0.5) {
          await c.query(
            `INSERT INTO accounts VALUES ($1, 1, $2, $3) ON CONFLICT (id) DO UPDATE
             SET version = accounts.version + 1, balance = accounts.balance + EXCLUDED.balance`,
            [id, Math.floor(Math.random() * 1000), `acct ${id}`],
          );
        } else if (r < 0.8) {
          await c.query("UPDATE accounts SET version = version + 1, name = $2 WHERE id = $1", [
            id,
            `name ${Math.random().toString(36).slice(2, 8)}`,
          ]);
        } else {
          await c.query("DELETE FROM accounts WHERE id = $1", [id]);
        }
      }
      await c.query("COMMIT");
      done += n;
      txns++;
    } catch (err) {
      // Only a lost connection is expected; anything else is a bug in the workload.
      if (!/terminat|ECONNRE|shut|not queryable|Connection/i.test(String(err))) throw err;
      await c.end().catch(() => {});
      c = await reconnect(url);
    }
  }
  await c.end();
  return txns;
}

async function reconnect(url: string): Promise<pg.Client> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      return await connect(url);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function dumpAccounts(url: string): Promise<string[]> {
  const c = await connect(url);
  try {
    const res = await c.query<{ line: string }>(
      "SELECT concat_ws('|', id, version, balance, name) AS line FROM accounts ORDER BY id",
    );
    return res.rows.map((r) => r.line);
  } finally {
    await c.end();
  }
}

/**
 * Per-key order in a table topic: keeping each (key, change) at its first appearance
 * (a restarted source repeats its unconfirmed tail), every key's changes must appear in
 * commit order: LSNs never go down, and within one transaction versions go up.
 * Returns the keys that break it.
 */
export function keysOutOfOrder(records: LogRecord[]): string[] {
  const seen = new Set<string>();
  const last = new Map<string, { lsn: bigint; version: number }>();
  const bad = new Set<string>();
  for (const r of records) {
    if (r.key === null || r.value === null) continue;
    const key = r.key.toString();
    const env = JSON.parse(r.value.toString());
    const row = env.after ?? env.before;
    const lsn = lsnOf(env.source.lsn);
    const version = env.after?.version ?? -1;
    const id = `${key}|${lsn}|${env.op}|${version}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const prev = last.get(key);
    if (
      prev !== undefined &&
      (lsn < prev.lsn || (lsn === prev.lsn && version !== -1 && version < prev.version))
    ) {
      bad.add(`${key} (${row?.id})`);
    }
    last.set(key, { lsn, version });
  }
  return [...bad];
}

function lsnOf(lsn: string): bigint {
  const [hi, lo] = lsn.split("/");
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

/** The table a consumer rebuilds by applying a topic from its start (the late consumer). */
export function foldTopic(records: LogRecord[]): string[] {
  const rows = new Map<number, string>();
  for (const r of records) {
    if (r.key === null) continue;
    const id = JSON.parse(r.key.toString()).id as number;
    if (r.value === null) {
      rows.delete(id);
      continue;
    }
    const env = JSON.parse(r.value.toString());
    if (env.op === "d") rows.delete(id);
    else {
      const a = env.after;
      rows.set(id, [a.id, a.version, a.balance, a.name].join("|"));
    }
  }
  return [...rows].sort((a, b) => a[0] - b[0]).map(([, line]) => line);
}

export function restartPostgres(): void {
  const script = path.resolve(import.meta.dirname, "../../../scripts/postgres.sh");
  const r = spawnSync(script, ["restart"], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`postgres.sh restart failed: ${r.stderr}`);
}

/**
 * Deletes whose next record in their partition is not a tombstone of the same key (the
 * source writes one right after each delete, so compaction can forget the row).
 */
export function deletesWithoutTombstone(records: (LogRecord & { partition: number })[]): number[] {
  const byPartition = new Map<number, LogRecord[]>();
  for (const r of records) {
    const list = byPartition.get(r.partition) ?? [];
    list.push(r);
    byPartition.set(r.partition, list);
  }
  const bad: number[] = [];
  for (const list of byPartition.values()) {
    list.forEach((r, i) => {
      if (r.value === null || JSON.parse(r.value.toString()).op !== "d") return;
      const next = list[i + 1];
      if (
        next === undefined ||
        next.value !== null ||
        !next.key?.equals(r.key ?? Buffer.alloc(0))
      ) {
        bad.push(r.offset);
      }
    });
  }
  return bad;
}
