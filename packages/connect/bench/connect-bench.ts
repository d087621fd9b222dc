import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type LogClient, openEmbeddedLog } from "@tributary/log";
import pg from "pg";
import { planConnectors } from "../src/connect-file.js";
import { ConnectWorker } from "../src/connect-worker.js";

/**
 * `npm run bench -w @tributary/connect`: the three connector paths, each beside a
 * baseline measured in the same run on the same data:
 *  - snapshot rows/s     — the source's initial snapshot into the log, vs psql running the
 *                          COPY (SELECT …) TO STDOUT (FORMAT binary) the source runs;
 *  - changes/s           — the source catching up on streamed changes into the log, vs
 *                          pg_recvlogical reading the same WAL range to /dev/null;
 *  - sink rows/s         — the Postgres sink applying change records, vs bare batched
 *                          INSERT … ON CONFLICT of the same rows.
 * Postgres: TRIBUTARY_PG_URL, else scripts/postgres.sh start. Sizes: BENCH_ROWS (default
 * 200,000), BENCH_CHANGES (default 100,000); BENCH_SNAPSHOT_THREADS sets the source's
 * snapshotEncodeThreads (0: encoded on the task's thread). Ends with one JSON line.
 */
const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 100_000);
const REPO = path.resolve(import.meta.dirname, "../../../..");

function pgUrl(): string {
  if (process.env.TRIBUTARY_PG_URL) return process.env.TRIBUTARY_PG_URL;
  const r = spawnSync(path.join(REPO, "scripts/postgres.sh"), ["start"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cannot start Postgres: ${r.stderr}`);
  return r.stdout.trim().split("\n").pop()!;
}

function pgBin(name: string): string {
  const dirs = fs.existsSync("/usr/lib/postgresql")
    ? fs.readdirSync("/usr/lib/postgresql").sort().reverse()
    : [];
  for (const v of dirs) {
    const p = `/usr/lib/postgresql/${v}/bin/${name}`;
    if (fs.existsSync(p)) return p;
  }
  return name;
}

async function query(url: string, text: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
}

async function until(probe: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const COLUMNS = ["id", "name", "email", "score", "updated_at"];

const rate = (n: number, ms: number) => Math.round((n * 1000) / ms);

/**
 * This process's CPU time (user + system) per item since `from`, in µs: unlike rows/s it
 * hardly moves with the machine's load, so runs on a busy machine still compare.
 */
function cpuUsPer(n: number, from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return Math.round(((used.user + used.system) / n) * 100) / 100;
}

async function main(): Promise<void> {
  const base = pgUrl();
  const db = `bench_${process.pid}`;
  await query(base, `CREATE DATABASE ${db}`);
  const u = new URL(base);
  u.pathname = `/${db}`;
  const url = u.toString();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "connect-bench-"));
  let log: LogClient | undefined;
  try {
    await query(
      url,
      "CREATE TABLE customers (id int PRIMARY KEY, name text, email text, score int, updated_at timestamptz)",
    );
    await query(
      url,
      "INSERT INTO customers SELECT g, 'name ' || g, 'user' || g || '@example.com', g % 1000, now() FROM generate_series(1, $1) g",
      [ROWS],
    );
    await query(url, "VACUUM ANALYZE customers");
    log = await openEmbeddedLog(path.join(dir, "log"));
    const file = {
      connectors: [
        {
          name: "cdc",
          type: "postgres-source",
          config: {
            connection: url,
            tables: ["customers"],
            topicPrefix: "b",
            heartbeatIntervalMs: 1000,
            // Unset: the connector's default. 0 measures the snapshot encoded on the task's thread.
            ...(process.env.BENCH_SNAPSHOT_THREADS !== undefined
              ? { snapshotEncodeThreads: Number(process.env.BENCH_SNAPSHOT_THREADS) }
              : {}),
          },
        },
      ],
    };

    // Snapshot: ours, then COPY TO STDOUT of the same table.
    let t = Date.now();
    let cpu = process.cpuUsage();
    let worker = new ConnectWorker({ log, plans: planConnectors(file), index: 0, workers: 1 });
    await worker.start();
    // Of the snapshot's time, what passed before the first rows were counted (topics, the
    // slot and its exported snapshot, the first batch; polled every 20 ms): the baseline
    // pays only psql's start and connection.
    await until(() => worker.metrics.total("snapshot_rows") > 0, "the snapshot's first rows");
    const snapshotStartMs = Date.now() - t;
    await until(() => worker.metrics.total("offset_commits") >= 1, "the snapshot");
    const snapshotRowsPerSec = rate(ROWS, Date.now() - t);
    const snapshotCpuUsPerRow = cpuUsPer(ROWS, cpu);
    await worker.stop();
    t = Date.now();
    // The statement the source runs for this table (every column has a binary reader).
    const snapshotBaseline = `COPY (SELECT ${COLUMNS.join(", ")} FROM customers) TO STDOUT (FORMAT binary)`;
    const copy = spawnSync(pgBin("psql"), [url, "-c", snapshotBaseline], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    if (copy.status !== 0) throw new Error("psql COPY failed");
    const snapshotBaselinePerSec = rate(ROWS, Date.now() - t);
    console.error(
      `snapshot: ${snapshotRowsPerSec} rows/s (psql ${snapshotBaseline}: ${snapshotBaselinePerSec} rows/s)`,
    );

    // Changes: a second slot sees the same WAL; the changes are made while the source is
    // stopped, then each reader catches up on them.
    await query(url, "SELECT pg_create_logical_replication_slot('bench_baseline', 'pgoutput')");
    const batches = 10;
    for (let b = 0; b < batches; b++) {
      const lo = Math.floor((b * CHANGES) / batches);
      const hi = Math.floor(((b + 1) * CHANGES) / batches);
      await query(
        url,
        "UPDATE customers SET score = score + 1, updated_at = now() WHERE id > $1 AND id <= $2",
        [lo % ROWS, ((hi - 1) % ROWS) + 1],
      );
    }
    const [{ lsn: endLsn }] = (await query(url, "SELECT pg_current_wal_lsn()::text AS lsn")) as [
      { lsn: string },
    ];
    t = Date.now();
    cpu = process.cpuUsage();
    worker = new ConnectWorker({ log, plans: planConnectors(file), index: 0, workers: 1 });
    await worker.start();
    await until(
      () =>
        worker.metrics.total("changes") >= CHANGES && worker.metrics.total("offset_commits") >= 1,
      "the changes",
    );
    const changesPerSec = rate(CHANGES, Date.now() - t);
    const changesCpuUsPerChange = cpuUsPer(CHANGES, cpu);
    await worker.stop();
    t = Date.now();
    const recv = spawnSync(
      pgBin("pg_recvlogical"),
      [
        "-d",
        url,
        "-S",
        "bench_baseline",
        "--start",
        "-o",
        "proto_version=1",
        "-o",
        "publication_names=tributary_b",
        "-E",
        endLsn,
        "-f",
        "/dev/null",
        "--no-loop",
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    if (recv.status !== 0) throw new Error("pg_recvlogical failed");
    const changesBaselinePerSec = rate(CHANGES, Date.now() - t);
    await query(url, "SELECT pg_drop_replication_slot('bench_baseline')");
    console.error(`changes: ${changesPerSec}/s (pg_recvlogical ${changesBaselinePerSec}/s)`);

    // Sink: the snapshot topic into a replica table; then bare INSERT … ON CONFLICT.
    await query(url, "CREATE TABLE replica (LIKE customers INCLUDING ALL)");
    await query(url, "CREATE TABLE baseline (LIKE customers INCLUDING ALL)");
    const sinkFile = {
      connectors: [
        {
          name: "bench-sink",
          type: "postgres-sink",
          topics: ["b.public.customers"],
          config: { connection: url, tables: { "b.public.customers": "public.replica" } },
        },
      ],
    };
    const topicEnd = (await log.admin.listOffsets("b.public.customers", "latest")).reduce(
      (n, o) => n + o.offset,
      0,
    );
    t = Date.now();
    cpu = process.cpuUsage();
    worker = new ConnectWorker({ log, plans: planConnectors(sinkFile), index: 0, workers: 1 });
    await worker.start();
    await until(() => worker.metrics.total("records_put") >= topicEnd, "the sink");
    const sinkRowsPerSec = rate(topicEnd, Date.now() - t);
    const sinkCpuUsPerRow = cpuUsPer(topicEnd, cpu);
    await worker.stop();
    const rows = (await query(url, "SELECT * FROM customers ORDER BY id")) as Record<
      string,
      unknown
    >[];
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    t = Date.now();
    const batch = 5000;
    let applied = 0;
    // Same number of row writes as the sink made, in batches like its polls.
    while (applied < topicEnd) {
      const slice = rows.slice(applied % rows.length, (applied % rows.length) + batch);
      const cols = COLUMNS;
      await c.query(
        `INSERT INTO baseline SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::int[], $5::timestamptz[])
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, score = EXCLUDED.score, updated_at = EXCLUDED.updated_at`,
        cols.map((k) => slice.map((r) => r[k])),
      );
      applied += slice.length;
    }
    const sinkBaselinePerSec = rate(applied, Date.now() - t);
    await c.end();
    console.error(
      `sink: ${sinkRowsPerSec} rows/s (INSERT … ON CONFLICT ${sinkBaselinePerSec} rows/s)`,
    );
    process.stdout.write(
      `${JSON.stringify({
        snapshotRowsPerSec,
        snapshotBaselinePerSec,
        snapshotBaseline: "psql COPY (SELECT …) TO STDOUT (FORMAT binary)",
        changesPerSec,
        changesBaselinePerSec,
        sinkRowsPerSec,
        sinkBaselinePerSec,
        snapshotCpuUsPerRow,
        snapshotStartMs,
        changesCpuUsPerChange,
        sinkCpuUsPerRow,
        load: os.loadavg()[0]!.toFixed(1),
        rows: ROWS,
        changes: CHANGES,
        sinkRecords: topicEnd,
      })}\n`,
    );
  } finally {
    await log?.close();
    await query(
      url,
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1",
      [db],
    ).catch(() => {});
    await query(base, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
