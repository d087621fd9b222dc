/**
 * How long a broker with many partitions takes to stop (issue 10: 10,000 topics took
 * 171 s):
 *   cd packages/log && npx tsc -p tsconfig.bench.json && node dist-bench/bench/broker-stop-bench.js
 *
 * A real broker in this process on a unix socket, BENCH_TOPICS single-partition topics
 * (default 10,000, flush policy "os") created over the wire, BENCH_RECORDS_PER_TOPIC
 * records (default 3) sent to each, then `stop()` timed: it flushes every partition, writes
 * its indexes, checkpoint and clean-shutdown marker. Every partition is then checked for
 * a clean stop (its marker, a checkpoint at its log end). Prints one JSON line. The machine is shared: run before and after in
 * one session and read the ratio.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { connectBroker } from "../src/broker/connect-broker.js";
import { startBroker } from "../src/broker/run-broker.js";
import { hasCleanShutdownMarker } from "../src/storage/log-recovery.js";
import { readCheckpoint } from "../src/storage/partition-checkpoint.js";

const TOPICS = Number(process.env.BENCH_TOPICS ?? 10_000);
const RECORDS = Number(process.env.BENCH_RECORDS_PER_TOPIC ?? 3);
const IN_FLIGHT = 64;

async function inBatches<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += IN_FLIGHT) {
    await Promise.all(items.slice(i, i + IN_FLIGHT).map(work));
  }
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "broker-stop-bench-"));
  const dataDir = path.join(root, "data");
  const address = `unix://${path.join(root, "broker.sock")}`;
  const logger = pino({ level: "warn" }, pino.destination(2));
  try {
    const broker = await startBroker({ dataDir, address, logger });
    const client = await connectBroker(address);
    const names = Array.from({ length: TOPICS }, (_, i) => `t${String(i).padStart(5, "0")}`);
    let t = performance.now();
    await inBatches(names, (name) => client.admin.createTopic(name, { partitions: 1 }));
    const createMs = performance.now() - t;
    const producer = client.producer();
    const records = Array.from({ length: RECORDS }, (_, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.alloc(100, i),
    }));
    t = performance.now();
    await inBatches(names, (name) => producer.send(name, records));
    const produceMs = performance.now() - t;
    await producer.close();
    await client.close();

    t = performance.now();
    await broker.stop();
    const stopMs = performance.now() - t;

    // A clean stop: every partition has its marker and a checkpoint at its log end, so
    // the next open scans nothing.
    let unclean = 0;
    for (const name of names) {
      const dir = path.join(dataDir, `${name}-0`);
      const read = readCheckpoint(dir);
      if (!hasCleanShutdownMarker(dir) || read.checkpoint?.recoveryPoint !== RECORDS) unclean++;
    }
    console.log(
      JSON.stringify({
        topics: TOPICS,
        recordsPerTopic: RECORDS,
        createMs: Math.round(createMs),
        produceMs: Math.round(produceMs),
        stopMs: Math.round(stopMs),
        uncleanPartitions: unclean,
        uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? "4 (default)",
      }),
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
