import { spawn } from "node:child_process";
import path from "node:path";
import * as readline from "node:readline";
import { type LogClient, Serdes } from "@tributary/log";
import { defineApp, runWorker } from "../src/index.js";
import { type LatencyFigures, PROCESSED_AT, RATE_PER_MS, VALUE_BYTES } from "./latency-client.js";
import {
  type Pause,
  printTailEpisodes,
  recordGcPauses,
  TRACE_DIR,
  writePauses,
} from "./latency-trace.js";

/**
 * End-to-end latency (issue #14): from a producer's send to a consumer reading the
 * record a one-step topology (mapValues) derived from it, with one real worker in this
 * process at its default settings, against the produce→consume baseline measured in the
 * same run: the same client process (latency-client.ts: 10,000 records/s, each stamped
 * with its send time) sending straight to a topic it reads.
 */

export interface LatencyResult {
  e2e: LatencyFigures;
  baseline: LatencyFigures;
  commitIntervalMs: number;
  /** The worker's commits while the client sent, and the longest (ms): the loop polls
   * nothing while one runs, so a commit longer than the p99's share of a commit interval
   * sets the p99. */
  commits: number;
  maxCommitMs: number;
  /** The longest the worker's loop waited for a commit (ms): at-least-once commits on the
   * interval complete while it polls, so this is what reaches the p99, not maxCommitMs. */
  maxCommitWaitMs: number;
  /** CPU of this (worker) process per derived record while the client sent, in µs: the
   * work on the path, steadier than the percentiles on a loaded machine. */
  workerCpuUsPerRecord: number;
}

export async function latencyBench(
  log: LogClient,
  address: string,
  stateDir: string,
  options: { partitions: number; seconds: number },
): Promise<LatencyResult> {
  const { partitions, seconds } = options;
  const measure = (send: string, read: string) =>
    runClient([address, send, read, String(partitions), String(seconds)]);
  const config = { retentionMs: -1 };
  for (const t of ["lat-base", "lat-in", "lat-out"]) {
    await log.admin.createTopic(t, { partitions, config });
  }
  const baseline = await measure("lat-base", "lat-base");
  printTailEpisodes("lat-base", ["client-lat-base"]);

  const bytes = Serdes.bytes();
  const app = defineApp({
    applicationId: "bench-latency",
    topology: (b) => {
      b.stream<Buffer, Buffer>("lat-in", { keySerde: bytes, valueSerde: bytes })
        .mapValues((v): Buffer => {
          const derived = Buffer.from(v);
          derived[VALUE_BYTES - 1] = 0x62;
          derived.writeBigUInt64BE(process.hrtime.bigint(), PROCESSED_AT);
          return derived;
        })
        .to("lat-out", { keySerde: bytes, valueSerde: bytes });
    },
  });
  let assigned: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    assigned = resolve;
  });
  // the worker's default, said explicitly; LATENCY_COMMIT_MS to see what commits cost
  const commitIntervalMs = Number(process.env.LATENCY_COMMIT_MS ?? 1000);
  const commitMs: number[] = [];
  const commitWaitMs: number[] = [];
  /** LATENCY_TRACE: the worker's commits, from start to offsets written. */
  const commitSpans: Pause[] = [];
  let measuring = false;
  const worker = runWorker(app, {
    log,
    stateDir,
    commitIntervalMs,
    onCommit: (c) => {
      if (!measuring) return;
      commitMs.push(c.durationMs);
      commitWaitMs.push(c.loopWaitMs);
      const endNs = process.hrtime.bigint();
      commitSpans.push({ startNs: endNs - BigInt(c.durationMs * 1e6), endNs, what: "commit" });
    },
    onTasksAssigned: (tasks) => {
      if (tasks.length > 0) assigned();
    },
  });
  await worker.start();
  await ready;
  try {
    measuring = true;
    const gcPauses = TRACE_DIR === undefined ? null : recordGcPauses();
    const cpu = process.cpuUsage();
    const e2e = await measure("lat-in", "lat-out");
    const { user, system } = process.cpuUsage(cpu);
    measuring = false;
    if (gcPauses !== null) {
      writePauses("worker", [...gcPauses(), ...commitSpans]);
      printTailEpisodes("lat-out", ["worker", "client-lat-out"]);
    }
    const maxCommitMs = commitMs.reduce((a, b) => Math.max(a, b), 0);
    const maxCommitWaitMs = commitWaitMs.reduce((a, b) => Math.max(a, b), 0);
    console.log(
      `worker commits while measuring: ${commitMs.length}, longest ${maxCommitMs} ms, the loop waited at most ${maxCommitWaitMs} ms`,
    );
    const workerCpuUsPerRecord =
      Math.round(((user + system) / (seconds * 1000 * RATE_PER_MS)) * 100) / 100;
    console.log(`worker CPU per derived record: ${workerCpuUsPerRecord} µs`);
    const h = e2e.hops;
    if (h !== undefined) {
      console.log(
        `hops: send → mapValues p50 ${h.inP50Ms} ms p99 ${h.inP99Ms} ms; mapValues → read p50 ${h.outP50Ms} ms p99 ${h.outP99Ms} ms`,
      );
    }
    return {
      e2e,
      baseline,
      commitIntervalMs,
      commits: commitMs.length,
      maxCommitMs,
      maxCommitWaitMs,
      workerCpuUsPerRecord,
    };
  } finally {
    await worker.stop();
  }
}

/** Runs latency-client.ts with `args` and returns the figures it prints. */
async function runClient(args: string[]): Promise<LatencyFigures> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(import.meta.dirname, "latency-client.ts"), ...args],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise<LatencyFigures>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on("line", (l) => {
      if (l.startsWith("{")) resolve(JSON.parse(l) as LatencyFigures);
    });
    child.on("exit", (c) => reject(new Error(`latency client exited ${c}`)));
  });
}
