/**
 * Streams runtime benchmark (not run by the tests):
 *   cd packages/streams && node --import tsx bench/streams-bench.ts [records=2000000] [restoreKeys=1000000]
 * (`npm run bench` adds `--max-semi-space-size=64`, the GC flag `tributary run` starts
 * its workers with: this process is the worker).
 *
 * With `--kafka host:port` (or TRIBUTARY_BENCH_KAFKA) the same runs on a Kafka cluster
 * (bench-log.ts). By default, one broker child process (the log package's broker fixture)
 * on a temp dir; this process
 * is the worker (one worker process, as `tributary run --workers 1`). 100-byte records
 * (10-byte keys, 90-byte values) on 4 partitions. Measured:
 * - raw baseline: a plain consumer reading the input, no processing;
 * - stateless: mapValues + filter to an output topic (bytes serdes);
 * - count per key with RocksDB + write-back cache + changelog (word count after its
 *   repartition: the words are the keys, 10,000 distinct);
 *   both timed from the assignment to the stopped worker (everything committed), with
 *   the worker's CPU time and GC pause time per record;
 * - restore: a worker starting on a changelog of `restoreKeys` distinct keys with no
 *   local state (child process), and its RSS holding them (after a GC).
 * - windowed count (1-minute tumbling, 10,000 keys) and a stream-stream join (±5 s), on
 *   half the records each (windows-joins-bench.ts);
 * - interactive queries: point queries through the routing layer (rate, p99) beside
 *   direct reads of the same local stores (query-bench.ts);
 * - failover: the worker running a task whose store holds restoreKeys / 2 keys is
 *   SIGKILLed; time until the other worker processes a record, with a standby replica
 *   there (numStandbyReplicas 1) and without one (failover-bench.ts);
 * - word count at-least-once against exactly-once, at commit intervals of 100 ms and 1 s,
 *   on a quarter of the records each (guarantees-bench.ts);
 * - end-to-end latency: produce → mapValues by one worker → consume at 10,000 records/s
 *   for LATENCY_SECONDS (default 10), p50/p99/max, beside the produce→consume baseline
 *   of the same producer and consumer (latency-bench.ts);
 * Ends with one JSON line: {"statelessPerSec","wordCountPerSec","windowedCountPerSec",
 * "streamJoinPerSec","queriesPerSec","queryP99Ms","localReadsPerSec","restorePerSec",
 * "rssMBMillionKeys","wordCountAtLeastOncePerSec","wordCountExactlyOncePerSec",
 * "failoverWithStandbyMs","failoverWithoutStandbyMs","failoverRestoreWithStandbyMs",
 * "failoverRestoreWithoutStandbyMs","e2eP50Ms","e2eP99Ms","e2eBaselineP99Ms",
 * "restoreCpuUsPerRecord"} (word counts at 100 ms; exactly-once, failover, the latencies and
 * restore's CPU per record, of the worker process, null when not measured).
 *
 * BENCH_ONLY=stateless,count,guarantees,windowed,join,query,restore,failover,latency (any of them, comma-separated) runs just
 * those measurements (after the fill and the raw baseline), e.g. to profile one:
 * `BENCH_ONLY=count node --cpu-prof --import tsx bench/streams-bench.ts`.
 * BENCH_ORDER_TASKS_BY_TIME=0 runs the workers without orderTasksByTime (on by default).
 * RESTORE_PROF_DIR=<dir> writes a CPU profile of the restoring worker (its own process).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type PerformanceEntry, PerformanceObserver } from "node:perf_hooks";
import * as readline from "node:readline";
import { type LogClient, Serdes } from "@tributary/log";
import { type App, defineApp, runWorker, type WorkerOptions } from "../src/index.js";
import { openBenchLog } from "./bench-log.js";
import { failoverBench, type FailoverResult } from "./failover-bench.js";
import { type LatencyResult, latencyBench } from "./latency-bench.js";
import { queryBench } from "./query-bench.js";
import { measureGuarantees } from "./guarantees-bench.js";
import { fillTimed, streamJoinApp, windowedCountApp } from "./windows-joins-bench.js";

const argv = process.argv.slice(2);
const kafkaAt = argv.indexOf("--kafka");
const KAFKA = kafkaAt >= 0 ? argv.splice(kafkaAt, 2)[1] : process.env.TRIBUTARY_BENCH_KAFKA;
const N = Number(argv[0] ?? 2_000_000);
const RESTORE_KEYS = Number(argv[1] ?? 1_000_000);
const PARTITIONS = 4;
const bytes = Serdes.bytes();
/** The generated records carry old event times: time retention must not delete them mid-run. */
const KEEP = { retentionMs: -1 };
const ONLY = new Set((process.env.BENCH_ONLY ?? "").split(",").filter((x) => x !== ""));
/** BENCH_ORDER_TASKS_BY_TIME=0: workers run their tasks' batches as fetched (the default
 * schedules them lowest time first). */
const ORDER_TASKS_BY_TIME = process.env.BENCH_ORDER_TASKS_BY_TIME !== "0";
const want = (run: string): boolean => ONLY.size === 0 || ONLY.has(run);
const root = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-streams-bench-"));

const rows: { name: string; records: number; ms: number }[] = [];
/** CPU of this (worker) process per record in the last runUntil: steadier than rates on a
 * shared machine. */
let lastCpuUsPerRecord = 0;
/** GC pauses of the last runUntil, µs per record: what the worker's GC flags change. */
let lastGcUsPerRecord = 0;
function report(name: string, records: number, ms: number): number {
  rows.push({ name, records, ms });
  const perSec = Math.round((records / ms) * 1000);
  console.log(
    `${name.padEnd(46)} ${String(records).padStart(9)} records ${ms.toFixed(0).padStart(7)} ms ${perSec
      .toLocaleString("en-US")
      .padStart(
        12,
      )} records/s${lastCpuUsPerRecord > 0 ? `  ${lastCpuUsPerRecord.toFixed(2)} µs CPU/record` : ""}${lastGcUsPerRecord > 0 ? ` (${lastGcUsPerRecord.toFixed(2)} in GC pauses)` : ""}`,
  );
  lastCpuUsPerRecord = 0;
  lastGcUsPerRecord = 0;
  return perSec;
}

async function fill(
  log: LogClient,
  topic: string,
  n: number,
  key: (i: number) => Buffer,
): Promise<void> {
  const producer = log.producer();
  const value = Buffer.alloc(90, 0x61);
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += 10_000) {
    const records = [];
    for (let j = i; j < Math.min(n, i + 10_000); j++) records.push({ key: key(j), value });
    inFlight.push(producer.send(topic, records));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await producer.close();
}

async function rawConsume(log: LogClient, topic: string, n: number): Promise<number> {
  const consumer = log.consumer({ autoOffsetReset: "earliest" });
  const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }));
  consumer.assign(tps);
  for (const tp of tps) consumer.seek(tp, 0);
  const t = performance.now();
  let seen = 0;
  let sum = 0;
  while (seen < n) {
    for (const f of await consumer.poll({ maxWaitMs: 100 })) {
      for (const r of f.records) sum += r.value === null ? 0 : r.value.length;
      seen += f.records.length;
    }
  }
  const ms = performance.now() - t;
  await consumer.close();
  if (sum === 0) throw new Error("read nothing");
  return ms;
}

/**
 * Runs `app` in this process: from its tasks being assigned (topics made, group joined,
 * stores restored) until it processed `n` records and stopped, which commits them
 * (outputs and changelogs acknowledged, store batches written, offsets committed).
 */
async function runUntil(
  log: LogClient,
  app: App,
  n: number,
  stateDir: string,
  options: Partial<WorkerOptions> = {},
): Promise<number> {
  let t = 0;
  let cpu = process.cpuUsage();
  let gcMs = 0;
  const countGc = (entries: PerformanceEntry[]) => {
    if (t !== 0) for (const e of entries) gcMs += e.duration;
  };
  const gc = new PerformanceObserver((list) => countGc(list.getEntries()));
  gc.observe({ entryTypes: ["gc"] });
  const worker = runWorker(app, {
    ...options,
    log,
    stateDir,
    orderTasksByTime: ORDER_TASKS_BY_TIME,
    onTasksAssigned: () => {
      if (t === 0) {
        t = performance.now();
        cpu = process.cpuUsage();
      }
    },
  });
  await worker.start();
  while (worker.metrics().recordsProcessed < n) await new Promise((r) => setTimeout(r, 5));
  await worker.stop();
  const used = process.cpuUsage(cpu);
  lastCpuUsPerRecord = (used.user + used.system) / n;
  countGc(gc.takeRecords());
  gc.disconnect();
  lastGcUsPerRecord = (gcMs * 1000) / n;
  return performance.now() - t;
}

const word = (i: number) => Buffer.from(`word-${String(i % 10_000).padStart(5, "0")}`);

async function main(): Promise<void> {
  const backend = await openBenchLog(KAFKA, path.join(root, "broker"));
  const log = backend.log;
  console.log(`streams bench on ${backend.name}`);
  try {
    await log.admin.createTopic("bench-in", { partitions: PARTITIONS, config: KEEP });
    await log.admin.createTopic("bench-out", { partitions: PARTITIONS, config: KEEP });
    await log.admin.createTopic("bench-counts", { partitions: PARTITIONS, config: KEEP });
    await fill(log, "bench-in", N, word);

    report("raw consumer (no processing), baseline", N, await rawConsume(log, "bench-in", N));

    const stateless = defineApp({
      applicationId: "bench-stateless",
      topology: (b) => {
        b.stream<Buffer, Buffer>("bench-in", { keySerde: bytes, valueSerde: bytes })
          .mapValues((v) => v)
          .filter((k) => k !== null)
          .to("bench-out", { keySerde: bytes, valueSerde: bytes });
      },
    });
    const statelessPerSec = want("stateless")
      ? report(
          "stateless mapValues+filter → topic",
          N,
          await runUntil(log, stateless, N, path.join(root, "state-stateless")),
        )
      : 0;

    const counts = defineApp({
      applicationId: "bench-count",
      topology: (b) => {
        b.stream<string, Buffer>("bench-in", { keySerde: Serdes.string(), valueSerde: bytes })
          .groupByKey()
          .count({ storeName: "counts" })
          .toStream()
          .to("bench-counts", { keySerde: Serdes.string(), valueSerde: Serdes.msgpack() });
      },
    });
    const wordCountPerSec = want("count")
      ? report(
          "count per key, RocksDB + cache + changelog",
          N,
          await runUntil(log, counts, N, path.join(root, "state-count")),
        )
      : 0;
    // exactly-once against at-least-once (on a quarter of the input: four runs)
    const GN = Math.floor(N / 4);
    let guarantees: { atLeastOnce: number; exactlyOnce: number | null } = {
      atLeastOnce: 0,
      exactlyOnce: null,
    };
    if (want("guarantees")) {
      await log.admin.createTopic("bench-wc-in", { partitions: PARTITIONS, config: KEEP });
      await fill(log, "bench-wc-in", GN, word);
      guarantees = await measureGuarantees(log, "bench-wc-in", PARTITIONS, async (app, o, label) =>
        report(
          label,
          GN,
          await runUntil(log, app, GN, path.join(root, `state-${app.applicationId}`), o),
        ),
      );
    }
    const WN = Math.floor(N / 2);
    let windowedCountPerSec = 0;
    let streamJoinPerSec = 0;
    if (want("windowed")) {
      await log.admin.createTopic("bench-views", { partitions: PARTITIONS, config: KEEP });
      await log.admin.createTopic("bench-windowed-out", { partitions: PARTITIONS, config: KEEP });
      await fillTimed(log, "bench-views", WN);
      windowedCountPerSec = report(
        "windowed count, 1-min tumbling, RocksDB window store",
        WN,
        await runUntil(
          log,
          windowedCountApp("bench-views", "bench-windowed-out"),
          WN,
          path.join(root, "state-windowed"),
        ),
      );
    }
    if (want("join")) {
      for (const t of ["bench-left", "bench-right", "bench-joined"]) {
        await log.admin.createTopic(t, { partitions: PARTITIONS, config: KEEP });
      }
      await fillTimed(log, "bench-left", WN / 2);
      await fillTimed(log, "bench-right", WN / 2);
      streamJoinPerSec = report(
        "stream-stream join ±5 s, both sides' records",
        WN,
        await runUntil(
          log,
          streamJoinApp("bench-left", "bench-right", "bench-joined"),
          WN,
          path.join(root, "state-join"),
        ),
      );
    }
    let query = { queriesPerSec: 0, queryP99Ms: 0, localReadsPerSec: 0 };
    if (want("query")) {
      const r = await queryBench(log, root, {
        records: Math.min(N, 200_000),
        keys: 10_000,
        partitions: PARTITIONS,
        queries: 20_000,
        concurrency: 16,
      });
      query = r;
      console.log(
        `point queries via routing (2 workers, 16 in flight) ${String(r.queries).padStart(6)} queries ${r.queriesPerSec.toLocaleString("en-US").padStart(10)} /s  p99 ${r.queryP99Ms} ms`,
      );
      console.log(
        `direct local RocksDB reads, same keys             ${String(r.queries).padStart(6)} reads   ${r.localReadsPerSec.toLocaleString("en-US").padStart(10)} /s  (queries at ${(r.queriesPerSec / r.localReadsPerSec).toFixed(2)}x)`,
      );
    }
    let restorePerSec = 0;
    let rssMB = 0;
    let restoreCpuUsPerRecord: number | null = null;
    if (want("restore")) {
      ({ restorePerSec, rssMB, restoreCpuUsPerRecord } = await measureRestore(
        log,
        backend.address,
      ));
    }
    let failover: FailoverResult | null = null;
    if (want("failover")) {
      const keys = Math.floor(RESTORE_KEYS / 2);
      failover = await failoverBench(log, backend.address, root, keys, (topic, n, key) =>
        fill(log, topic, n, key),
      );
      console.log(
        `failover, store of ${keys.toLocaleString("en-US")} keys, without standby   ${String(failover.withoutStandbyMs).padStart(7)} ms (restored ${failover.restoredWithoutStandby.toLocaleString("en-US")} records; in ${failover.restoreWithoutStandbyMs} ms)`,
      );
      console.log(
        `failover, same, with a standby replica            ${String(failover.withStandbyMs).padStart(7)} ms (restored ${failover.restoredWithStandby.toLocaleString("en-US")} records; in ${failover.restoreWithStandbyMs} ms; ${(failover.withoutStandbyMs / failover.withStandbyMs).toFixed(2)}x faster)`,
      );
    }
    const latency = want("latency") ? await measureLatency(log, backend.address) : null;
    console.log(
      JSON.stringify({
        statelessPerSec,
        wordCountPerSec,
        windowedCountPerSec,
        streamJoinPerSec,
        queriesPerSec: query.queriesPerSec,
        queryP99Ms: query.queryP99Ms,
        localReadsPerSec: query.localReadsPerSec,
        restorePerSec,
        rssMBMillionKeys: rssMB,
        wordCountAtLeastOncePerSec: guarantees.atLeastOnce,
        wordCountExactlyOncePerSec: guarantees.exactlyOnce,
        failoverWithStandbyMs: failover?.withStandbyMs ?? null,
        failoverWithoutStandbyMs: failover?.withoutStandbyMs ?? null,
        failoverRestoreWithStandbyMs: failover?.restoreWithStandbyMs ?? null,
        failoverRestoreWithoutStandbyMs: failover?.restoreWithoutStandbyMs ?? null,
        e2eP50Ms: latency?.e2e.p50Ms ?? null,
        e2eP99Ms: latency?.e2e.p99Ms ?? null,
        e2eBaselineP99Ms: latency?.baseline.p99Ms ?? null,
        restoreCpuUsPerRecord:
          restoreCpuUsPerRecord === null ? null : Number(restoreCpuUsPerRecord.toFixed(2)),
      }),
    );
  } finally {
    await backend.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** End-to-end latency through one worker beside the produce→consume baseline. */
async function measureLatency(log: LogClient, address: string): Promise<LatencyResult> {
  const r = await latencyBench(log, address, path.join(root, "state-latency"), {
    partitions: PARTITIONS,
    seconds: Number(process.env.LATENCY_SECONDS ?? 10),
  });
  const line = (name: string, f: LatencyResult["e2e"]) =>
    console.log(
      `${name.padEnd(46)} ${String(f.records).padStart(9)} records  p50 ${f.p50Ms} ms  p99 ${f.p99Ms} ms  max ${f.maxMs} ms`,
    );
  line("produce → consume at 10,000/s, baseline", r.baseline);
  line(`produce → mapValues → consume (commit ${r.commitIntervalMs} ms)`, r.e2e);
  console.log(
    `end-to-end p99 / baseline p99: ${(r.e2e.p99Ms / Math.max(r.baseline.p99Ms, 0.01)).toFixed(1)}`,
  );
  return r;
}

/** A fresh worker process restoring a changelog of RESTORE_KEYS distinct keys. */
async function measureRestore(
  log: LogClient,
  address: string,
): Promise<{ restorePerSec: number; rssMB: number; restoreCpuUsPerRecord: number }> {
  // restore: a changelog of RESTORE_KEYS distinct keys, read by a fresh worker process
  await log.admin.createTopic("restore-in", { partitions: 1 });
  await log.admin.createTopic("bench-restore-kv-changelog", {
    partitions: 1,
    config: { cleanupPolicy: "compact" },
  });
  await fill(log, "bench-restore-kv-changelog", RESTORE_KEYS, (i) =>
    Buffer.from(`key-${String(i).padStart(6, "0")}`),
  );
  const child = spawn(
    process.execPath,
    [
      // RESTORE_PROF_DIR=<dir>: a CPU profile of the restoring worker, to see where time goes
      ...(process.env.RESTORE_PROF_DIR
        ? ["--cpu-prof", "--cpu-prof-dir", process.env.RESTORE_PROF_DIR]
        : []),
      "--import",
      "tsx",
      path.join(import.meta.dirname, "restore-child.ts"),
      address,
      path.join(root, "state-restore"),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on("line", (l) => {
      if (l.startsWith("{")) resolve(l);
    });
    child.on("exit", (c) => reject(new Error(`restore child exited ${c}`)));
  });
  const restored = JSON.parse(line) as {
    records: number;
    ms: number;
    cpuUs: number;
    rssMB: number;
  };
  const restorePerSec = report(
    "restore from changelog (fresh worker)",
    restored.records,
    restored.ms,
  );
  const restoreCpuUsPerRecord = restored.cpuUs / Math.max(1, restored.records);
  console.log(
    `RSS of the worker holding ${restored.records.toLocaleString("en-US")} keys: ${restored.rssMB} MB; restore CPU ${restoreCpuUsPerRecord.toFixed(2)} µs per record (worker process)`,
  );
  return { restorePerSec, rssMB: restored.rssMB, restoreCpuUsPerRecord };
}

await main();
