/**
 * The peer benchmark (`npm run bench:peers`; not part of `npm test`; docs/benchmarks.md):
 * the same five workloads (workloads.ts) on Kafka Streams, on Tributary with Kafka as its
 * log, and on Tributary with its embedded log, interleaved, for a few rounds, on one
 * single-node Kafka (kafka-broker.ts) on this machine.
 *
 *   npm run bench:peers -- [--records 300000] [--restore-keys 1000000] [--rounds 3]
 *                          [--only wordCount,stateless,windowedCount,streamJoin,restore]
 *   env: TRIBUTARY_KAFKA_PORT (29092), TRIBUTARY_KAFKA_STATE (kafka-broker.ts),
 *        PEERS_QUIX=0 (no Quix Streams), PEERS_CPU_PROF_DIR (CPU profiles of the workers)
 *
 * Each run is a child process (a JVM, or a Node worker: tributary-worker.ts) measured from
 * outside between its first record and its committed stop (child-run.ts): records/s, CPU
 * seconds of its process tree per million input records, peak RSS. The Kafka broker's CPU
 * in the same interval is reported beside, not added: the embedded log's work is inside the
 * Tributary process, Kafka's is not. Every run's output is read back and compared with the
 * first run's and with what the input must add up to; any difference fails the benchmark.
 * Ends with one JSON line of medians per workload and system.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { type LogClient, openEmbeddedLog } from "@tributary/log";
import { openKafkaLog } from "@tributary/kafka";
import { runMeasured, type Measured } from "./child-run.js";
import { createOutput, deleteTopics, fillInputs, fillRestore, inputTopics } from "./inputs.js";
import { type Broker, startBroker } from "./kafka-broker.js";
import { buildKafkaStreamsApp, kafkaStreamsArgs } from "./kafka-streams-app.js";
import { quixPython, quixScript } from "./quix-streams-app.js";
import { difference, readResults, type Results, total } from "./results.js";
import { isWorkload, WORKLOAD, WORKLOADS, type WorkloadName } from "./workloads.js";

const SYSTEMS = ["kafkaStreams", "tributaryKafka", "tributaryEmbedded", "quixStreams"] as const;
type System = (typeof SYSTEMS)[number];

const { values: opts } = parseArgs({
  options: {
    records: { type: "string", default: "300000" },
    "restore-keys": { type: "string", default: "1000000" },
    rounds: { type: "string", default: "3" },
    only: { type: "string", default: WORKLOADS.join(",") },
  },
});
const N = Number(opts.records);
const RESTORE_KEYS = Number(opts["restore-keys"]);
const ROUNDS = Number(opts.rounds);
const only = opts.only.split(",").filter((w) => w !== "");
for (const w of only) {
  if (!isWorkload(w))
    throw new Error(`--only: unknown workload ${w}; the workloads are ${WORKLOADS.join(", ")}`);
}
if (!(N >= 20_000 && N % 20_000 === 0)) {
  throw new Error(
    `--records must be a multiple of 20,000 (10,000 keys, half on each join side), got ${opts.records}`,
  );
}
const workloads = only as WorkloadName[];
const RUN_TIMEOUT_MS = 20 * 60_000;
/** PEERS_CPU_PROF_DIR=dir: each Tributary worker writes V8 CPU profiles into dir/<its run>
 * (the largest file is the main thread's: profile-summary.ts reads it). */
const PROFILE_DIR = process.env.PEERS_CPU_PROF_DIR;
const root = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-peers-"));
const embeddedDir = path.join(root, "embedded-log");
const workerScript = path.join(import.meta.dirname, "tributary-worker.ts");

interface Sample extends Measured {
  records: number;
}

/** The log a system's run reads and writes, for the parent's setup and checks. */
async function withLog<T>(
  system: System,
  kafka: LogClient,
  f: (log: LogClient) => Promise<T>,
): Promise<T> {
  if (system !== "tributaryEmbedded") return f(kafka);
  // the worker opens the embedded log itself: the parent holds it only around a run
  const log = await openEmbeddedLog(embeddedDir);
  try {
    return await f(log);
  } finally {
    await log.close();
  }
}

interface Context {
  broker: Broker;
  kafka: LogClient;
  classpath: string;
  /** Names this benchmark run's topics. */
  tag: string;
  /** Quix's python, when it is in the race (word count only). */
  quixPython: string | null;
}

/** The child process of one run: a JVM, a Python or a Node worker. */
function command(
  system: System,
  w: WorkloadName,
  ctx: Context,
  run: { appId: string; stateDir: string; n: number; inputs: string[]; output: string },
): { command: string; args: string[] } {
  const { appId, stateDir, n, inputs, output } = run;
  if (system === "kafkaStreams") {
    const r = {
      workload: w,
      bootstrap: ctx.broker.bootstrap,
      appId,
      stateDir,
      records: n,
      inputs,
      output,
    };
    return { command: "java", args: kafkaStreamsArgs(ctx.classpath, r) };
  }
  if (system === "quixStreams") {
    const args = [quixScript, ctx.broker.bootstrap, appId, stateDir, String(n), inputs[0]!, output];
    return { command: ctx.quixPython!, args };
  }
  const log =
    system === "tributaryKafka" ? `kafka:${ctx.broker.bootstrap}` : `embedded:${embeddedDir}`;
  const processed = String(WORKLOAD[w].tributaryProcessed(n));
  const profile =
    PROFILE_DIR === undefined
      ? []
      : // a folder per run: tsx's loader thread writes a profile of its own beside the main one
        ["--cpu-prof", `--cpu-prof-dir=${path.join(PROFILE_DIR, appId)}`];
  return {
    command: process.execPath,
    args: [
      ...profile,
      "--import",
      "tsx",
      workerScript,
      w,
      log,
      appId,
      stateDir,
      processed,
      inputs.join(","),
      output,
    ],
  };
}

async function runOne(
  w: WorkloadName,
  system: System,
  round: number,
  ctx: Context,
): Promise<{ sample: Sample; results: Results | null }> {
  const spec = WORKLOAD[w];
  const appId = `peers-${ctx.tag}-${w}-${system}-r${round}`;
  const output = `${appId}-out`;
  const n = w === "restore" ? RESTORE_KEYS : N;
  const inputs = await withLog(system, ctx.kafka, async (log) => {
    if (w === "restore") return [await fillRestore(log, appId, RESTORE_KEYS)];
    await createOutput(log, output);
    return inputTopics(ctx.tag, w);
  });
  const stateDir = path.join(root, `state-${appId}`);
  const label = `${w} on ${system}, round ${round}`;
  const measured = await runMeasured({
    label,
    ...command(system, w, ctx, { appId, stateDir, n, inputs, output }),
    brokerPid: system === "tributaryEmbedded" ? null : ctx.broker.pid,
    timeoutMs: RUN_TIMEOUT_MS,
  });
  fs.rmSync(stateDir, { recursive: true, force: true });
  if (w === "restore" && measured.reported.records !== RESTORE_KEYS) {
    throw new Error(`${label}: restored ${measured.reported.records} records, not ${RESTORE_KEYS}`);
  }
  const results = await withLog(system, ctx.kafka, async (log) => {
    const r = spec.result === null ? null : await readResults(log, output, spec.result);
    // this run's topics (its output, changelogs, repartition topics) are not needed again
    await deleteTopics(log, appId);
    return r;
  });
  return { sample: { ...measured, records: n }, results };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const perSec = (s: Sample) => s.records / (s.ms / 1000);
const cpuPerMillion = (s: Sample) => (s.cpuSeconds / s.records) * 1e6;

function describe(s: Sample): string {
  const broker =
    s.brokerCpuSeconds === null
      ? ""
      : `, broker ${((s.brokerCpuSeconds / s.records) * 1e6).toFixed(2)} CPU s/M`;
  return `${Math.round(perSec(s)).toLocaleString("en-US")} records/s, ${cpuPerMillion(s).toFixed(2)} CPU s/M records, ${s.peakRssMB} MB peak RSS${broker}`;
}

async function main(): Promise<void> {
  console.log(
    `peer benchmark: ${workloads.join(", ")}; ${N.toLocaleString("en-US")} records, ${RESTORE_KEYS.toLocaleString("en-US")} restore keys, ${ROUNDS} rounds; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  const classpath = buildKafkaStreamsApp();
  const quix = workloads.includes("wordCount") ? quixPython() : { skipped: "no word count run" };
  if ("skipped" in quix) console.log(`Quix Streams skipped: ${quix.skipped}`);
  const broker = startBroker();
  const kafka = await openKafkaLog({ brokers: broker.bootstrap, clientId: "tributary-peer-bench" });
  const tag = Date.now().toString(36);
  const ctx: Context = {
    broker,
    kafka,
    classpath,
    tag,
    quixPython: "python" in quix ? quix.python : null,
  };
  const samples = new Map<string, Sample[]>();
  try {
    console.log("filling the inputs on Kafka and on the embedded log ...");
    await fillInputs(kafka, tag, workloads, N);
    await withLog("tributaryEmbedded", kafka, (log) => fillInputs(log, tag, workloads, N));
    const reference = new Map<WorkloadName, { results: Results; who: string }>();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const w of workloads) {
        // a different system goes first each round, so a drift in load hits all alike
        const systems = SYSTEMS.filter(
          (x) => x !== "quixStreams" || (w === "wordCount" && ctx.quixPython !== null),
        );
        const order = systems.map((_, i) => systems[(i + round - 1) % systems.length]!);
        for (const system of order) {
          const { sample, results } = await runOne(w, system, round, ctx);
          console.log(`round ${round} ${w.padEnd(13)} ${system.padEnd(17)} ${describe(sample)}`);
          samples.set(`${w}/${system}`, [...(samples.get(`${w}/${system}`) ?? []), sample]);
          if (results === null) continue;
          const want = WORKLOAD[w].expectedTotal(N);
          if (want !== null && total(results) !== want) {
            throw new Error(
              `${w} on ${system}, round ${round}: the output adds up to ${total(results)}, not ${want}`,
            );
          }
          const ref = reference.get(w);
          const who = `${system} round ${round}`;
          if (ref === undefined) {
            reference.set(w, { results, who });
            continue;
          }
          const diff = difference(ref.results, results);
          if (diff !== null) throw new Error(`${w}: ${ref.who} and ${who} disagree: ${diff}`);
        }
      }
    }
  } finally {
    await deleteTopics(kafka, `peers-${tag}-`);
    await kafka.close();
    broker.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
  printSummary(samples);
}

function printSummary(samples: Map<string, Sample[]>): void {
  console.log(
    `\nmedians of ${ROUNDS} rounds (CPU s/M: CPU seconds of the process tree per million input records)`,
  );
  console.log(
    `${"workload".padEnd(14)}${"system".padEnd(19)}${"records/s".padStart(11)}${"CPU s/M".padStart(9)}${"peak RSS MB".padStart(13)}${"broker CPU s/M".padStart(16)}`,
  );
  const json: Record<
    string,
    Record<string, { cpuSecondsPerMillion: number; recordsPerSec: number }>
  > = {};
  for (const w of workloads) {
    json[w] = {};
    for (const system of SYSTEMS) {
      const s = samples.get(`${w}/${system}`) ?? [];
      if (s.length === 0) continue;
      const rate = Math.round(median(s.map(perSec)));
      const cpu = Number(median(s.map(cpuPerMillion)).toFixed(2));
      const rss = Math.round(median(s.map((x) => x.peakRssMB)));
      const b =
        s[0]!.brokerCpuSeconds === null
          ? ""
          : median(s.map((x) => (x.brokerCpuSeconds! / x.records) * 1e6)).toFixed(2);
      console.log(
        `${w.padEnd(14)}${system.padEnd(19)}${rate.toLocaleString("en-US").padStart(11)}${cpu.toFixed(2).padStart(9)}${String(rss).padStart(13)}${b.padStart(16)}`,
      );
      json[w][system] = { cpuSecondsPerMillion: cpu, recordsPerSec: rate };
    }
  }
  console.log(JSON.stringify(json));
}

await main();
