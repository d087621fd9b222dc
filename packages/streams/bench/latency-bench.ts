import { spawn } from "node:child_process";
import path from "node:path";
import * as readline from "node:readline";
import { type LogClient, Serdes } from "@tributary/log";
import { defineApp, runWorker } from "../src/index.js";
import { type LatencyFigures, VALUE_BYTES } from "./latency-client.js";

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

  const bytes = Serdes.bytes();
  const app = defineApp({
    applicationId: "bench-latency",
    topology: (b) => {
      b.stream<Buffer, Buffer>("lat-in", { keySerde: bytes, valueSerde: bytes })
        .mapValues((v): Buffer => {
          const derived = Buffer.from(v);
          derived[VALUE_BYTES - 1] = 0x62;
          return derived;
        })
        .to("lat-out", { keySerde: bytes, valueSerde: bytes });
    },
  });
  let assigned: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    assigned = resolve;
  });
  const commitIntervalMs = 1000; // the worker's default, said explicitly
  const worker = runWorker(app, {
    log,
    stateDir,
    commitIntervalMs,
    onTasksAssigned: (tasks) => {
      if (tasks.length > 0) assigned();
    },
  });
  await worker.start();
  await ready;
  try {
    const e2e = await measure("lat-in", "lat-out");
    return { e2e, baseline, commitIntervalMs };
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
