/**
 * State store benchmark (not run by the tests):
 *   cd packages/state && node --import tsx bench/state-bench.ts [records=1000000]
 *
 * Measures, for `records` distinct keys (16-byte keys, 100-byte values):
 * - raw baseline: plain rocksdb batch puts of the same bytes, 10,000 per batch;
 * - put through the typed store (cache → change-logging layer → RocksDB, no changelog),
 *   committing every 10,000 puts;
 * - get through the store: prefetch (one getMany) per 1,000 random keys, then sync gets,
 *   with the raw getMany of the same batches as baseline;
 * - restore of the same keys from a changelog on the embedded log into a fresh store;
 * and the process RSS after each phase.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { openEmbeddedLog } from "@tributary/log";
import type { StoreSerde } from "../src/key-value-store.js";
import { openKeyValueStore } from "../src/store-builder.js";

const N = Number(process.argv[2] ?? 1_000_000);
const BATCH = 10_000;
const GET_BATCH = 1_000;
const root = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-state-bench-"));
const bytes: StoreSerde<Buffer | null> = { serialize: (v) => v, deserialize: (b) => b };

const value = Buffer.alloc(100, 7);
// Keys are made when used, not held in an array, so RSS shows what the store holds.
const keys = {
  at: (i: number): Buffer => Buffer.from(`key-${String(i).padStart(12, "0")}`),
};

function report(name: string, records: number, ms: number): void {
  const rss = Math.round(process.memoryUsage().rss / 1024 / 1024);
  console.log(
    `${name.padEnd(42)} ${String(records).padStart(9)} records ${ms.toFixed(0).padStart(7)} ms ${Math.round(
      (records / ms) * 1000,
    )
      .toLocaleString("en-US")
      .padStart(12)} records/s  rss ${rss} MB`,
  );
}

async function rawBaseline(): Promise<void> {
  const rocksdb = createRequire(import.meta.url)("rocksdb");
  const db = rocksdb(path.join(root, "raw"));
  const cb = (resolve: () => void, reject: (e: unknown) => void) => (e: unknown) =>
    e ? reject(e) : resolve();
  await new Promise<void>((res, rej) =>
    db.open({ createIfMissing: true, compression: true }, cb(res, rej)),
  );
  let t = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    const ops: { type: "put"; key: Buffer; value: Buffer }[] = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++)
      ops.push({ type: "put", key: keys.at(j), value });
    await new Promise<void>((res, rej) => db.batch(ops, { sync: false }, cb(res, rej)));
  }
  report("raw rocksdb batch put", N, performance.now() - t);
  t = performance.now();
  let x = 1;
  for (let i = 0; i < N; i += GET_BATCH) {
    const batch: Buffer[] = [];
    for (let j = 0; j < GET_BATCH; j++) {
      x = (x * 1103515245 + 12345) >>> 0;
      batch.push(keys.at(x % N));
    }
    await new Promise<void>((res, rej) => db.getMany(batch, { asBuffer: true }, cb(res, rej)));
  }
  report("raw rocksdb getMany (1000/batch)", N, performance.now() - t);
  await new Promise<void>((res, rej) => db.close(cb(res, rej)));
}

async function storePutGet(): Promise<void> {
  const store = await openKeyValueStore<Buffer | null, Buffer>({
    applicationId: "bench",
    taskId: "0_0",
    name: "local",
    stateDir: path.join(root, "state"),
    keySerde: bytes,
    valueSerde: bytes,
  });
  let t = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    for (let j = i; j < Math.min(N, i + BATCH); j++) store.put(keys.at(j), value);
    await store.commit();
  }
  report("store put + commit (cache 10 MiB)", N, performance.now() - t);
  t = performance.now();
  let x = 1;
  let found = 0;
  const batch: Buffer[] = new Array(GET_BATCH);
  for (let i = 0; i < N; i += GET_BATCH) {
    for (let j = 0; j < GET_BATCH; j++) {
      x = (x * 1103515245 + 12345) >>> 0;
      batch[j] = keys.at(x % N);
    }
    await store.prefetch(batch);
    for (const k of batch) if (store.get(k) !== null) found++;
  }
  if (found !== N) throw new Error(`expected ${N} hits, got ${found}`);
  report("store prefetch + get (random, 1000/batch)", N, performance.now() - t);
  t = performance.now();
  for (let i = 0; i < N; i += GET_BATCH) {
    for (let j = 0; j < GET_BATCH; j++) batch[j] = keys.at(j);
    await store.prefetch(batch);
    for (const k of batch) store.get(k);
  }
  report("store prefetch + get (1000 hot keys)", N, performance.now() - t);
  await store.close();
}

async function restore(): Promise<void> {
  const client = await openEmbeddedLog(path.join(root, "log"), { maintenanceIntervalMs: 0 });
  const topic = "bench-restored-changelog";
  await client.admin.createTopic(topic, { partitions: 1, config: { cleanupPolicy: "compact" } });
  const producer = client.producer();
  let t = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    const records = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++)
      records.push({ key: keys.at(j), value, partition: 0 });
    await producer.send(topic, records);
  }
  report("changelog produce (setup)", N, performance.now() - t);
  await producer.close();
  t = performance.now();
  let lastDone = 0;
  const store = await openKeyValueStore<Buffer | null, Buffer>({
    applicationId: "bench",
    taskId: "0_0",
    name: "restored",
    stateDir: path.join(root, "state"),
    keySerde: bytes,
    valueSerde: bytes,
    changelog: { client, partition: 0 },
    onRestoreProgress: (done) => {
      lastDone = done;
    },
  });
  report(
    "restore from changelog (fresh store)",
    store.restored?.records ?? 0,
    performance.now() - t,
  );
  if (lastDone !== N) throw new Error(`restore progress ended at ${lastDone}, expected ${N}`);
  await store.close();
  await client.close();
}

try {
  console.log(
    `state bench: ${N} distinct keys, 16-byte keys, 100-byte values, node ${process.version}`,
  );
  await rawBaseline();
  await storePutGet();
  await restore();
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
