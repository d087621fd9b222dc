/**
 * The log's benchmark: `npm run bench -w @tributary/log`.
 *
 * 100-byte values, 16-byte keys, sends of 1,000 records over 3 partitions, through the
 * ordinary producer/consumer API of the embedded LogClient, beside a raw baseline measured
 * in the same run (the same batch bytes written with plain fs.writeSync). Prints a table
 * and ends with one JSON line. Figures are ratios first: this machine is shared and slow.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openEmbeddedLog } from "../src/embedded-log.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import type { IsolationLevel } from "../src/client/isolation-level.js";
import type { LogClient } from "../src/client/log-client.js";
import { logMetrics } from "../src/storage/log-metrics.js";
import type { ProducerRecord } from "../src/record.js";
import { encodeBatch } from "../src/record-batch.js";
import { BATCH, KEY_BYTES, makeSends, PARTITIONS, VALUE_BYTES } from "./workload.js";

const RECORDS = Number(process.env.BENCH_RECORDS ?? 3_000_000);
const DURABLE_RECORDS = Number(process.env.BENCH_DURABLE_RECORDS ?? 1_000_000);
const RSS_RECORDS = Number(process.env.BENCH_RSS_RECORDS ?? 10_000_000);

function tmpDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tributary-bench-${name}-`));
}

/** This process's CPU time (user + system) since `from`, in µs per record. */
function cpuUsPerRecord(from: NodeJS.CpuUsage, records: number): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / records;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function appendRun(
  log: LogClient,
  topic: string,
  sends: ProducerRecord[][],
  total: number,
  inFlight: number,
  idempotent = true,
): Promise<number> {
  const producer = log.producer({ idempotent });
  const start = process.hrtime.bigint();
  let sent = 0;
  let i = 0;
  const window: Promise<unknown>[] = [];
  while (sent < total) {
    window.push(producer.send(topic, sends[i++ % sends.length]!));
    sent += BATCH;
    if (window.length >= inFlight) await window.shift();
  }
  await Promise.all(window);
  return seconds(start);
}

/** Sends of one transaction: 10 sends of 1,000 records, then the commit (its 3 markers). */
const SENDS_PER_TRANSACTION = 10;

/**
 * Transactional appends: each transaction sends SENDS_PER_TRANSACTION sends and commits
 * (AddPartitionsToTxn on its first send, EndTxn writing a marker per partition and a state
 * record at each step of the coordinator). `inFlight` 1 awaits each send before the next;
 * more keeps that many in flight, as a streams commit does when it flushes its outputs.
 */
async function transactionalRun(
  log: LogClient,
  topic: string,
  sends: ProducerRecord[][],
  total: number,
  inFlight: number,
): Promise<number> {
  const producer = log.transactionalProducer({ transactionalId: `bench-${inFlight}` });
  await producer.initTransactions();
  const start = process.hrtime.bigint();
  let i = 0;
  for (let sent = 0; sent < total; ) {
    await producer.beginTransaction();
    const window: Promise<unknown>[] = [];
    for (let n = 0; n < SENDS_PER_TRANSACTION && sent < total; n++, sent += BATCH) {
      window.push(producer.send(topic, sends[i++ % sends.length]!));
      if (window.length >= inFlight) await window.shift();
    }
    await Promise.all(window);
    await producer.commitTransaction();
  }
  const secs = seconds(start);
  await producer.close();
  return secs;
}

/** The sends' records as the producer encodes them: one batch per send and partition. */
function encodeSends(sends: ProducerRecord[][]): Buffer[] {
  const encoded: Buffer[] = [];
  for (const records of sends) {
    for (let p = 0; p < PARTITIONS; p++) {
      encoded.push(encodeBatch(records.filter((_, i) => i % PARTITIONS === p)));
    }
  }
  return encoded;
}

/** The same bytes the log writes (encoded batches, split by partition), with writeSync. */
function baselineRun(encoded: Buffer[], total: number): { secs: number; bytes: number } {
  const dir = tmpDir("baseline");
  const fds = Array.from({ length: PARTITIONS }, (_, p) =>
    fs.openSync(path.join(dir, `${p}.log`), "a"),
  );
  let bytes = 0;
  const start = process.hrtime.bigint();
  for (let sent = 0, i = 0; sent < total; sent += BATCH) {
    for (let p = 0; p < PARTITIONS; p++, i++) {
      const b = encoded[i % encoded.length]!;
      fs.writeSync(fds[p]!, b);
      bytes += b.length;
    }
  }
  const secs = seconds(start);
  for (const fd of fds) fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true, force: true });
  return { secs, bytes };
}

/**
 * Appends of batches encoded before the clock starts (the baseline's bytes), straight to
 * the log service, as a broker receives finished batches from a client (or the streams
 * runtime would hand over batches it encoded itself): the log's own share of an append,
 * without the producer's partitioning and encoding. At-least-once batches (no producer
 * id), one append in flight, partitions in turn as the baseline writes them.
 */
async function preEncodedRun(encoded: Buffer[], total: number): Promise<number> {
  const dir = tmpDir("pre-encoded");
  const service = await EmbeddedLogService.open(dir, { maintenanceIntervalMs: 0 });
  await service.createTopic("pre", { partitions: PARTITIONS, config: { flushPolicy: "os" } });
  const start = process.hrtime.bigint();
  for (let sent = 0, i = 0; sent < total; sent += BATCH) {
    for (let p = 0; p < PARTITIONS; p++, i++) {
      await service.produce("pre", p, encoded[i % encoded.length]!);
    }
  }
  const secs = seconds(start);
  await service.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return secs;
}

async function consumeRun(
  log: LogClient,
  topic: string,
  total: number,
  isolation: IsolationLevel = "read_uncommitted",
): Promise<number> {
  const consumer = log.consumer({ isolation });
  consumer.assign(Array.from({ length: PARTITIONS }, (_, p) => ({ topic, partition: p })));
  for (let p = 0; p < PARTITIONS; p++) consumer.seek({ topic, partition: p }, 0);
  let n = 0;
  let checksum = 0;
  const start = process.hrtime.bigint();
  // A poll can end on a transaction marker and hand back nothing: only a run of empty
  // polls means the end.
  let empty = 0;
  while (n < total) {
    const polled = await consumer.poll({ maxWaitMs: 0 });
    for (const fp of polled) {
      const records = fp.records;
      for (let i = 0; i < records.length; i++) {
        // Touch key and value so the decode is real work, not dead code.
        const r = records[i]!;
        checksum += r.value!.length + r.key!.length;
      }
      n += records.length;
    }
    empty = polled.length === 0 ? empty + 1 : 0;
    if (empty > 20) break;
  }
  const secs = seconds(start);
  await consumer.close();
  if (n < total || checksum !== n * (VALUE_BYTES + KEY_BYTES)) {
    throw new Error(`consume read ${n} of ${total} records (checksum ${checksum})`);
  }
  return secs;
}

/** Child mode: append RSS_RECORDS and report peak RSS, so earlier phases don't count. */
async function rssChild(): Promise<void> {
  const dir = tmpDir("rss");
  const log = await openEmbeddedLog(dir, { maintenanceIntervalMs: 0 });
  await log.admin.createTopic("rss", { partitions: PARTITIONS });
  const sends = makeSends(20);
  await appendRun(log, "rss", sends, RSS_RECORDS, 1);
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ peakRssMB: process.resourceUsage().maxRSS / 1024 }));
}

async function main(): Promise<void> {
  if (process.argv[2] === "--rss-child") return rssChild();
  const sends = makeSends(100);
  const bytesPerRecord = KEY_BYTES + VALUE_BYTES;
  const rows: [string, number, number, string][] = [];

  // Warm up the code paths once so the JIT has settled.
  {
    const dir = tmpDir("warm");
    const log = await openEmbeddedLog(dir, { maintenanceIntervalMs: 0 });
    await log.admin.createTopic("w", { partitions: PARTITIONS });
    await appendRun(log, "w", sends, 200_000, 1);
    await consumeRun(log, "w", 200_000);
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const encoded = encodeSends(sends);
  let cpu = process.cpuUsage();
  const base = baselineRun(encoded, RECORDS);
  const baselineCpuUs = cpuUsPerRecord(cpu, RECORDS);
  const baselinePerSec = RECORDS / base.secs;
  rows.push([
    "baseline fs.writeSync of the same batch bytes",
    baselinePerSec,
    base.bytes / base.secs,
    `${baselineCpuUs.toFixed(2)} µs CPU/record`,
  ]);
  /** An append row: its rate, its share of the baseline, and CPU per record beside both. */
  const appendRow = (name: string, secs: number, cpuUs: number): number => {
    const perSec = RECORDS / secs;
    rows.push([
      name,
      perSec,
      (RECORDS * bytesPerRecord) / secs,
      `${((perSec / baselinePerSec) * 100).toFixed(0)}% of baseline; ${cpuUs.toFixed(2)} µs CPU/record, ${(baselineCpuUs / cpuUs).toFixed(2)}x the baseline's rate by CPU`,
    ]);
    return perSec;
  };

  const dir = tmpDir("os");
  const log = await openEmbeddedLog(dir, { maintenanceIntervalMs: 0 });
  await log.admin.createTopic("bench", { partitions: PARTITIONS, config: { flushPolicy: "os" } });
  cpu = process.cpuUsage();
  const appendSecs = await appendRun(log, "bench", sends, RECORDS, 1);
  const appendPerSec = appendRow(
    "append, flush os (producer.send, idempotent)",
    appendSecs,
    cpuUsPerRecord(cpu, RECORDS),
  );
  cpu = process.cpuUsage();
  const preEncodedSecs = await preEncodedRun(encoded, RECORDS);
  const appendPreEncodedPerSec = appendRow(
    "append of pre-encoded batches (log service, no producer)",
    preEncodedSecs,
    cpuUsPerRecord(cpu, RECORDS),
  );

  const consumeSecs = await consumeRun(log, "bench", RECORDS);
  const consumePerSec = RECORDS / consumeSecs;
  rows.push([
    "consume (fetch + CRC + decode)",
    consumePerSec,
    (RECORDS * bytesPerRecord) / consumeSecs,
    "-",
  ]);

  // The same without idempotence (at-least-once), into a topic of its own, for the cost
  // of producer ids and sequence checks; after the consume run, which it would disturb.
  await log.admin.createTopic("plain", { partitions: PARTITIONS, config: { flushPolicy: "os" } });
  const plainSecs = await appendRun(log, "plain", sends, RECORDS, 1, false);
  const appendAtLeastOncePerSec = RECORDS / plainSecs;
  rows.push([
    "append, flush os, idempotent: false",
    appendAtLeastOncePerSec,
    (RECORDS * bytesPerRecord) / plainSecs,
    `${((appendAtLeastOncePerSec / baselinePerSec) * 100).toFixed(0)}% of baseline; idempotent is ${((appendPerSec / appendAtLeastOncePerSec) * 100).toFixed(0)}% of it`,
  ]);

  // Transactions of 10 sends (10,000 records), committed, for the cost of the
  // coordinator round trips and markers; then the same read back read_committed.
  await log.admin.createTopic("txn", { partitions: PARTITIONS, config: { flushPolicy: "os" } });
  const txnSecs = await transactionalRun(log, "txn", sends, RECORDS, 1);
  const transactionalAppendPerSec = RECORDS / txnSecs;
  rows.push([
    `append, flush os, transactional (${SENDS_PER_TRANSACTION * BATCH} records a transaction)`,
    transactionalAppendPerSec,
    (RECORDS * bytesPerRecord) / txnSecs,
    `${((transactionalAppendPerSec / baselinePerSec) * 100).toFixed(0)}% of baseline; ${((transactionalAppendPerSec / appendPerSec) * 100).toFixed(0)}% of idempotent`,
  ]);
  // The same with every send of a transaction in flight at once (the sends still reach
  // each partition in order), into a topic of its own.
  await log.admin.createTopic("txn-inflight", {
    partitions: PARTITIONS,
    config: { flushPolicy: "os" },
  });
  const txnPipeSecs = await transactionalRun(
    log,
    "txn-inflight",
    sends,
    RECORDS,
    SENDS_PER_TRANSACTION,
  );
  const transactionalPipelinedAppendPerSec = RECORDS / txnPipeSecs;
  rows.push([
    `append, flush os, transactional, ${SENDS_PER_TRANSACTION} sends in flight`,
    transactionalPipelinedAppendPerSec,
    (RECORDS * bytesPerRecord) / txnPipeSecs,
    `${((transactionalPipelinedAppendPerSec / transactionalAppendPerSec) * 100).toFixed(0)}% of one send at a time; ${((transactionalPipelinedAppendPerSec / appendPerSec) * 100).toFixed(0)}% of idempotent`,
  ]);
  const committedSecs = await consumeRun(log, "txn", RECORDS, "read_committed");
  const consumeCommittedPerSec = RECORDS / committedSecs;
  rows.push([
    "consume read_committed (the transactional topic)",
    consumeCommittedPerSec,
    (RECORDS * bytesPerRecord) / committedSecs,
    `${((consumeCommittedPerSec / consumePerSec) * 100).toFixed(0)}% of read_uncommitted`,
  ]);
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });

  // Group commit: several sends in flight share each fdatasync.
  const ddir = tmpDir("always");
  const dlog = await openEmbeddedLog(ddir, { maintenanceIntervalMs: 0 });
  await dlog.admin.createTopic("durable", {
    partitions: PARTITIONS,
    config: { flushPolicy: "always" },
  });
  const fsyncsBefore = logMetrics.fsyncs;
  const durableSecs = await appendRun(dlog, "durable", sends, DURABLE_RECORDS, 8);
  const fsyncs = logMetrics.fsyncs - fsyncsBefore;
  const durableAppendPerSec = DURABLE_RECORDS / durableSecs;
  rows.push([
    `append, flush always (8 sends in flight), ${(fsyncs / durableSecs).toFixed(0)} fsyncs/s`,
    durableAppendPerSec,
    (DURABLE_RECORDS * bytesPerRecord) / durableSecs,
    `${(appendPerSec / durableAppendPerSec).toFixed(2)}x slower than os`,
  ]);
  // Transactions on a flush-always topic: each ack waits for an fdatasync, so the sends of
  // a transaction in flight together share them where one send at a time pays each.
  const durableTxn: number[] = [];
  for (const inFlight of [1, SENDS_PER_TRANSACTION]) {
    const topic = `durable-txn-${inFlight}`;
    await dlog.admin.createTopic(topic, {
      partitions: PARTITIONS,
      config: { flushPolicy: "always" },
    });
    const secs = await transactionalRun(dlog, topic, sends, DURABLE_RECORDS, inFlight);
    durableTxn.push(DURABLE_RECORDS / secs);
    rows.push([
      inFlight === 1
        ? "append, flush always, transactional, one send at a time"
        : `append, flush always, transactional, ${inFlight} sends in flight`,
      DURABLE_RECORDS / secs,
      (DURABLE_RECORDS * bytesPerRecord) / secs,
      inFlight === 1
        ? `${((DURABLE_RECORDS / secs / durableAppendPerSec) * 100).toFixed(0)}% of 8 idempotent sends in flight`
        : `${(DURABLE_RECORDS / secs / durableTxn[0]!).toFixed(2)}x one send at a time`,
    ]);
  }
  await dlog.close();
  fs.rmSync(ddir, { recursive: true, force: true });

  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), "--rss-child"],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const peakRssMB = JSON.parse(child.stdout).peakRssMB as number;

  console.log(
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? "?"}, node ${process.version}`,
  );
  console.log(
    `records: ${RECORDS} (${KEY_BYTES}-byte keys, ${VALUE_BYTES}-byte values), sends of ${BATCH}, ${PARTITIONS} partitions`,
  );
  console.log("| run | records/s | MB/s | note |");
  console.log("|---|---:|---:|---|");
  for (const [name, rps, bps, note] of rows) {
    console.log(
      `| ${name} | ${Math.round(rps).toLocaleString("en-US")} | ${(bps / 1e6).toFixed(1)} | ${note} |`,
    );
  }
  console.log(
    `| peak RSS appending ${RSS_RECORDS.toLocaleString("en-US")} records | | | ${peakRssMB.toFixed(0)} MB |`,
  );
  console.log(
    JSON.stringify({
      appendPerSec: Math.round(appendPerSec),
      appendAtLeastOncePerSec: Math.round(appendAtLeastOncePerSec),
      appendPreEncodedPerSec: Math.round(appendPreEncodedPerSec),
      transactionalAppendPerSec: Math.round(transactionalAppendPerSec),
      transactionalPipelinedAppendPerSec: Math.round(transactionalPipelinedAppendPerSec),
      consumeCommittedPerSec: Math.round(consumeCommittedPerSec),
      baselinePerSec: Math.round(baselinePerSec),
      consumePerSec: Math.round(consumePerSec),
      durableAppendPerSec: Math.round(durableAppendPerSec),
      fsyncsPerSec: Math.round(fsyncs / durableSecs),
      durableTransactionalAppendPerSec: Math.round(durableTxn[0]!),
      durableTransactionalPipelinedAppendPerSec: Math.round(durableTxn[1]!),
      peakRssMB: Math.round(peakRssMB),
    }),
  );
}

await main();
