import path from "node:path";
import { type LogClient, partitionForKey, Serdes } from "@tributary/log";
import { type KeyValueStore, openKeyValueStore } from "@tributary/state";
import { defineApp, queryClient, runWorker } from "../src/index.js";

/**
 * The interactive-query run of the streams bench (streams-bench.ts prints it):
 * - a count per key of `records` records over `keys` keys on `partitions` partitions, run
 *   by two workers in this process (so keys live on both and routing matters);
 * - point queries through the typed client: key serialized, partition by murmur2, HTTP to
 *   the owner's loopback query server, answer decoded; `concurrency` in flight; their
 *   rate and p99 latency;
 * - the baseline, in the same run: the same number of reads of the same keys straight
 *   from the workers' RocksDB stores once they stopped (open, then one awaited
 *   prefetch + get per key, as a query does one read per key).
 */
export interface QueryBenchResult {
  queriesPerSec: number;
  queryP99Ms: number;
  localReadsPerSec: number;
  queries: number;
}

const str = Serdes.string();

export async function queryBench(
  log: LogClient,
  root: string,
  options: {
    records: number;
    keys: number;
    partitions: number;
    queries: number;
    concurrency: number;
  },
): Promise<QueryBenchResult> {
  const { records, keys, partitions, queries, concurrency } = options;
  const app = defineApp({
    applicationId: "bench-query",
    topology: (b) => ({
      counts: b
        .stream<string, Buffer>("bench-query-in", { keySerde: str, valueSerde: Serdes.bytes() })
        .groupByKey()
        .count({ storeName: "counts" }),
    }),
  });
  await log.admin.createTopic("bench-query-in", { partitions, config: { retentionMs: -1 } });
  const keyOf = (i: number) => `key-${String(i % keys).padStart(6, "0")}`;
  const producer = log.producer();
  const value = Buffer.alloc(90, 0x61);
  for (let i = 0; i < records; i += 10_000) {
    const batch = [];
    for (let j = i; j < Math.min(records, i + 10_000); j++) {
      batch.push({ key: Buffer.from(keyOf(j)), value });
    }
    await producer.send("bench-query-in", batch);
  }
  await producer.close();

  const dirs = [path.join(root, "query-a"), path.join(root, "query-b")];
  const workers = dirs.map((stateDir) => runWorker(app, { log, stateDir, commitIntervalMs: 200 }));
  for (const w of workers) await w.start();
  const q = queryClient(app, { log, timeoutMs: 60_000 });
  const counts = q.store("counts");
  // caught up and spread: every key counted, both workers holding tasks
  for (;;) {
    const all = await counts.all({ limit: keys + 1 });
    const total = all.reduce((n, e) => n + e.value, 0);
    if (total === records && workers.every((w) => w.metrics().tasks.length > 0)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const expected = Math.floor(records / keys);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < queries) {
        const i = next++;
        const t = performance.now();
        const n = await counts.get(keyOf((i * 7919) % keys));
        latencies.push(performance.now() - t);
        if (n === null || n < expected) throw new Error(`query of ${keyOf(i)} answered ${n}`);
      }
    }),
  );
  const queryMs = performance.now() - started;
  const owned = workers.map((w) => w.metrics().tasks);
  for (const w of workers) await w.stop();
  latencies.sort((a, b) => a - b);

  // the baseline: the same reads straight from the stores the workers left on disk
  // each task's store where its last owner left it; no cache: every read goes to RocksDB
  const stores = new Map<string, KeyValueStore<string, number>>();
  for (const [i, tasks] of owned.entries()) {
    for (const taskId of tasks) {
      stores.set(
        taskId,
        await openKeyValueStore<string, number>({
          applicationId: "bench-query",
          taskId,
          name: "counts",
          engine: "rocksdb",
          stateDir: dirs[i]!,
          cacheBytes: 0,
          keySerde: str,
          valueSerde: Serdes.msgpack<number | null>(),
        }),
      );
    }
  }
  const localStarted = performance.now();
  for (let i = 0; i < queries; i++) {
    const key = keyOf((i * 7919) % keys);
    const store = stores.get(`0_${partitionForKey(Buffer.from(key), partitions)}`)!;
    await store.prefetch([key]);
    const n = store.get(key);
    if (n === null || n < expected) throw new Error(`local read of ${key} found ${n}`);
  }
  const localMs = performance.now() - localStarted;
  for (const s of stores.values()) await s.close();
  return {
    queries,
    queriesPerSec: Math.round((queries / queryMs) * 1000),
    queryP99Ms: Number(latencies[Math.floor(latencies.length * 0.99)]!.toFixed(2)),
    localReadsPerSec: Math.round((queries / localMs) * 1000),
  };
}
