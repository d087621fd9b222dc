/**
 * The restore half of streams-bench.ts, in its own process so its RSS is the worker's:
 * starts a worker of an app whose one store's changelog the bench filled, with no local
 * state, and prints {"records","ms","cpuUs","rssMB"} once the store is restored (RSS after
 * a GC; cpuUs the process's user+system CPU over the same span as ms).
 * Args: <log address (bench-log.ts: a broker address or kafka:…)> <state dir>.
 */
import { Serdes } from "@tributary/log";
import { defineApp, runWorker } from "../src/index.js";
import { openAddress } from "./bench-log.js";

const [address, stateDir] = process.argv.slice(2) as [string, string];
const log = await openAddress(address);
const app = defineApp({
  applicationId: "bench-restore",
  topology: (b) => {
    b.table<Buffer, Buffer>(
      "restore-in",
      { keySerde: Serdes.bytes(), valueSerde: Serdes.bytes() },
      { storeName: "kv" },
    );
  },
});
// timed from the first restored chunk to the last (joining the group is not restore)
let first: { at: number; done: number; cpu: NodeJS.CpuUsage } | null = null;
let ms = 0;
let cpuUs = 0;
let records = 0;
const restored = new Promise<void>((resolve) => {
  const worker = runWorker(app, {
    log,
    stateDir,
    onRestore: (e) => {
      first ??= { at: performance.now(), done: e.done, cpu: process.cpuUsage() };
      if (e.done === e.total) {
        records = e.total - first.done;
        ms = performance.now() - first.at;
        const cpu = process.cpuUsage(first.cpu);
        cpuUs = cpu.user + cpu.system;
        resolve();
      }
    },
  });
  void worker.start();
});
await restored;
(globalThis as { gc?: () => void }).gc?.();
const rssMB = Math.round(process.memoryUsage().rss / 1024 / 1024);
process.stdout.write(`${JSON.stringify({ records, ms, cpuUs, rssMB })}\n`);
process.exit(0);
