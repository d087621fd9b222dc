import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConnectWorker, planConnectors } from "@tributary/connect";
import { type LogClient, type LogRecord, openEmbeddedLog } from "@tributary/log";
import pg from "pg";
import { inject } from "vitest";

/**
 * Shared helpers of the connect tests: a fresh Postgres database per test on the server
 * the global setup found, temp dirs, in-process workers on an embedded log, and the
 * `tributary` command in child processes.
 */
export const PG_URL = inject("pgUrl");
export const NO_PG = PG_URL === "";
export const BIN = path.resolve(import.meta.dirname, "../../cli/dist/bin.js");

const cleanups: (() => Promise<void> | void)[] = [];

export async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

export function tempDir(prefix = "tributary-connect-"): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

export function dbUrl(db: string): string {
  const u = new URL(PG_URL);
  u.pathname = `/${db}`;
  return u.toString();
}

/** A new database (dropped with its slots at cleanup); returns its URL. */
export async function freshDatabase(prefix: string): Promise<string> {
  const name = `${prefix}_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  await sql(PG_URL, `CREATE DATABASE ${name}`);
  cleanups.push(async () => {
    await sql(
      PG_URL,
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active",
      [name],
    ).catch(() => {});
    await sql(PG_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  });
  return dbUrl(name);
}

/**
 * A source and a replica database, each with `items (id int PRIMARY KEY, v text)`, the
 * source's holding rows 1..`rows` ('v1', 'v2', …).
 */
export async function itemsSourceAndReplica(
  prefix: string,
  rows: number,
): Promise<{ source: string; replica: string }> {
  const source = await freshDatabase(`${prefix}src`);
  const replica = await freshDatabase(`${prefix}rep`);
  for (const url of [source, replica]) {
    await sql(url, "CREATE TABLE items (id int PRIMARY KEY, v text)");
  }
  await sql(source, "INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, $1) g", [rows]);
  return { source, replica };
}

export async function sql<R extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last === undefined ? "" : `: ${last}`}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function openTestLog(): Promise<LogClient> {
  const log = await openEmbeddedLog(tempDir());
  cleanups.push(() => log.close());
  return log;
}

/** Runs a connect file's connectors in this process, as one worker. */
export async function startWorker(log: LogClient, file: unknown): Promise<ConnectWorker> {
  const worker = new ConnectWorker({ log, plans: planConnectors(file), index: 0, workers: 1 });
  await worker.start();
  cleanups.push(() => worker.stop());
  return worker;
}

/** A connect file's Postgres change-capture connector "cdc" with this config. */
export function cdcSource(config: Record<string, unknown>) {
  return { name: "cdc", type: "postgres-source", config };
}

/** Every record of a topic, from its start to its end now. */
export async function readTopic(
  log: LogClient,
  topic: string,
): Promise<(LogRecord & { partition: number })[]> {
  const ends = await log.admin.listOffsets(topic, "latest");
  const consumer = log.consumer();
  consumer.assign(ends.map((e) => ({ topic, partition: e.partition })));
  for (const e of ends) consumer.seek({ topic, partition: e.partition }, 0);
  const out: (LogRecord & { partition: number })[] = [];
  try {
    while (
      ends.some((e) => (consumer.position({ topic, partition: e.partition }) ?? 0) < e.offset)
    ) {
      for (const f of await consumer.poll({ maxWaitMs: 200 })) {
        const end = ends.find((e) => e.partition === f.partition)!.offset;
        for (const r of f.records) if (r.offset < end) out.push({ ...r, partition: f.partition });
      }
    }
  } finally {
    await consumer.close();
  }
  return out;
}

export interface Spawned {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Starts `tributary ARGS` (killed at cleanup). */
export function spawnCli(args: string[], cwd: string): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(t);
    }
  });
  return { child, exited, stderr: () => err };
}
