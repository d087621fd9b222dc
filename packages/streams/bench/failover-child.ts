/**
 * One worker of the failover half of streams-bench.ts (failover-bench.ts), in its own
 * process so it can be SIGKILLed: a table of one partition materialized in store "kv".
 * Args: <log address> <state dir> <application id> <numStandbyReplicas> <sessionTimeoutMs>.
 * Prints JSON lines: {"event":"tasks","tasks"}, {"event":"restored","taskId","records"}
 * (changelog records the task's restore replayed), {"event":"taskRestored","taskId","ms"}
 * (opening and restoring its stores), {"event":"standbys","lags"} every
 * 100 ms while it keeps standbys, and {"event":"processed","at"} (epoch ms) when it first
 * processes a record.
 */
import { Serdes } from "@tributary/log";
import { defineApp, runWorker } from "../src/index.js";
import { openAddress } from "./bench-log.js";

const [address, stateDir, applicationId, replicas, sessionMs] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const log = await openAddress(address);
const app = defineApp({
  applicationId,
  config: { numStandbyReplicas: Number(replicas) },
  topology: (b) => {
    b.table<Buffer, Buffer>(
      `${applicationId}-in`,
      { keySerde: Serdes.bytes(), valueSerde: Serdes.bytes() },
      { storeName: "kv" },
    );
  },
});
const worker = runWorker(app, {
  log,
  stateDir,
  commitIntervalMs: 100,
  sessionTimeoutMs: Number(sessionMs),
  query: false,
  onTasksAssigned: (tasks) => say({ event: "tasks", tasks, at: Date.now() }),
  onTaskRestored: (e) => say({ event: "taskRestored", taskId: e.taskId, ms: e.durationMs }),
  onRestore: (e) => {
    if (e.done === e.total)
      say({ event: "restored", taskId: e.taskId, records: e.done, at: Date.now() });
  },
});
await worker.start();
const timer = setInterval(() => {
  const m = worker.metrics();
  if (m.recordsProcessed > 0) {
    say({ event: "processed", at: Date.now() });
    clearInterval(timer);
  }
  if (Object.keys(m.standbyTasks ?? {}).length > 0)
    say({ event: "standbys", lags: m.standbyTasks });
}, 5);
