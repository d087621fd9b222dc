/**
 * The Tributary side of one peer-benchmark run, in its own process so that its CPU and RSS
 * are measured like the Kafka Streams JVM's (child-run.ts has the STARTED/DONE protocol):
 * one worker (as `tributary run --workers 1`) of a tributary-topologies.ts app, on Kafka or
 * on the embedded log opened in this process.
 *
 * Args: <workload> <log: kafka:host:port | embedded:dir> <applicationId> <stateDir>
 *       <records> <inputs, comma-separated> <output>
 * `records` is what the worker must have processed: every task's input counts, so word
 * count's is twice its input (the source, then the repartition topic).
 */
import { type LogClient, openEmbeddedLog } from "@tributary/log";
import { runWorker } from "@tributary/streams";
import { tributaryApp } from "./tributary-topologies.js";
import { isWorkload } from "./workloads.js";

const [workload, address, appId, stateDir, records, inputs, output] = process.argv.slice(2);
if (output === undefined || !isWorkload(workload!)) {
  console.error("usage: tributary-worker.ts workload log appId stateDir records inputs output");
  process.exit(2);
}
const target = Number(records);

async function openLogAt(at: string): Promise<LogClient> {
  if (at.startsWith("embedded:")) return openEmbeddedLog(at.slice("embedded:".length));
  const { openKafkaLog } = await import("@tributary/kafka");
  return openKafkaLog({ brokers: at.slice("kafka:".length), clientId: "tributary-peer-bench" });
}

const log = await openLogAt(address!);
const app = tributaryApp(workload, appId!, { inputs: inputs!.split(","), output });
let restored = 0;
let restoreDone = () => {};
const restoredAll = new Promise<void>((resolve) => {
  restoreDone = resolve;
});
const worker = runWorker(app, {
  log,
  stateDir: stateDir!,
  onRestore: (e) => {
    if (workload !== "restore") return;
    if (restored === 0) console.log("STARTED");
    restored = e.done;
    if (e.done === e.total) restoreDone();
  },
});
await worker.start();
if (workload === "restore") {
  await restoredAll;
} else {
  while (worker.metrics().recordsProcessed === 0) await new Promise((r) => setTimeout(r, 2));
  console.log("STARTED");
  while (worker.metrics().recordsProcessed < target) await new Promise((r) => setTimeout(r, 5));
}
await worker.stop();
await log.close();
const processed = workload === "restore" ? restored : worker.metrics().recordsProcessed;
console.log(`DONE ${JSON.stringify({ records: processed })}`);
// the parent reads this process's /proc entries, then closes our stdin
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
