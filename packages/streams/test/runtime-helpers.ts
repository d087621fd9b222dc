import fs from "node:fs";
import path from "node:path";
import {
  connectBroker,
  type IsolationLevel,
  type LogClient,
  type LogRecord,
  type ProducerRecord,
  type Serde,
} from "@tributary/log";
import { afterAll, afterEach, beforeAll } from "vitest";
import {
  type ChildProc,
  eventually,
  spawnTs,
  startBrokerProcess,
  tempDir,
} from "@tributary/log/testing";

/**
 * Shared helpers for the runtime tests: worker processes (fixtures/worker-process.ts) over
 * a log backend (a broker process, the log package's fixture, by default; the Kafka suite
 * passes its own), and reading a topic back as the table it ends in. Process plumbing
 * (ChildProc, spawnTs, eventually, tempDir) is @tributary/log/testing's.
 */
export { type ChildProc, eventually, startBrokerProcess, tempDir };

export const FIXTURES = path.join(import.meta.dirname, "fixtures");

/**
 * The log a scenario runs on: the test's own client, the worker-process flags that connect
 * a worker to the same log, and how to tear it down. The scenarios in worker-scenarios.ts
 * take one, so the same end-to-end tests run over the broker here and over Kafka in
 * packages/kafka/test.
 */
export interface Backend {
  /** "broker" or "kafka", for messages. */
  readonly name: string;
  readonly log: LogClient;
  /** fixtures/worker-process.ts flags that open this log in a worker process. */
  readonly workerArgs: readonly string[];
  /** Closes the client and stops or cleans what the backend started. */
  close(): Promise<void>;
}

/** A broker process on a fresh data directory, and a client of it. */
export async function brokerBackend(): Promise<Backend> {
  const b = await startBrokerProcess(tempDir("rt-broker"));
  const log = await connectBroker(b.address).catch((err) => {
    b.proc.kill("SIGKILL");
    throw err;
  });
  return {
    name: "broker",
    log,
    workerArgs: ["--broker", b.address],
    close: async () => {
      await log.close();
      b.proc.kill("SIGTERM");
      await b.proc.exited;
    },
  };
}

export interface WorkerProc {
  proc: ChildProc;
  stateDir: string;
}

/** Starts a worker process for the app module `app` (a file in fixtures/) on a backend (or
 * a broker address) and waits until it runs (topics made, group joined). */
export async function startWorker(
  on: Backend | string,
  app: string,
  stateDir: string,
  extra: string[] = [],
): Promise<WorkerProc> {
  const connect = typeof on === "string" ? ["--broker", on] : on.workerArgs;
  const proc = spawnTs(
    path.join(FIXTURES, "worker-process.ts"),
    [...connect, "--app", path.join(FIXTURES, app), "--state", stateDir, ...extra],
    path.resolve(import.meta.dirname, ".."),
  );
  await proc.waitForLine((l) => l.includes('"event":"running"'), "worker running line");
  return { proc, stateDir };
}

/** Stops a worker with SIGTERM (a clean stop: commit, close, leave) and waits for exit. */
export async function stopWorker(w: WorkerProc): Promise<void> {
  w.proc.kill("SIGTERM");
  const { code } = await w.proc.exited;
  if (code !== 0) throw new Error(`worker exited ${code}; stderr: ${w.proc.stderr.join("")}`);
}

export async function produce(
  log: LogClient,
  topic: string,
  records: readonly ProducerRecord[],
): Promise<void> {
  const producer = log.producer();
  for (let i = 0; i < records.length; i += 1000) {
    await producer.send(topic, records.slice(i, i + 1000));
  }
  await producer.close();
}

/** Every record of a topic from its start to its current end, with its partition, in
 * each partition's order. */
export async function readTopicRecords(
  log: LogClient,
  topic: string,
  isolation: IsolationLevel = "read_uncommitted",
): Promise<(LogRecord & { partition: number })[]> {
  const ends = await log.admin.listOffsets(topic, "latest");
  const consumer = log.consumer({ autoOffsetReset: "earliest", isolation });
  const out: (LogRecord & { partition: number })[] = [];
  try {
    const tps = ends.map((e) => ({ topic, partition: e.partition }));
    consumer.assign(tps);
    for (const tp of tps) consumer.seek(tp, 0);
    const done = () => ends.every((e) => (consumer.position(e) ?? 0) >= e.offset);
    while (!done()) {
      for (const f of await consumer.poll({ maxWaitMs: 100 })) {
        const end = ends.find((e) => e.partition === f.partition)!.offset;
        for (const r of f.records) if (r.offset < end) out.push({ ...r, partition: f.partition });
      }
    }
  } finally {
    await consumer.close();
  }
  return out;
}

/**
 * Reads a topic from the start to its current end: every record, and the last value per
 * key (null values delete, as a table reads them).
 */
export async function readTopic<K, V>(
  log: LogClient,
  topic: string,
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
  isolation: IsolationLevel = "read_uncommitted",
): Promise<{
  records: { key: K; value: V | null; headers: Record<string, Buffer> }[];
  table: Map<K, V>;
}> {
  const records: { key: K; value: V | null; headers: Record<string, Buffer> }[] = [];
  const table = new Map<K, V>();
  for (const r of await readTopicRecords(log, topic, isolation)) {
    const key = keySerde.deserialize(r.key);
    const value = r.value === null ? null : valueSerde.deserialize(r.value);
    records.push({ key, value, headers: r.headers });
    if (value === null) table.delete(key);
    else table.set(key, value);
  }
  return { records, table };
}

/** Waits until the topic's table equals `expected` (key by key); returns the table. */
export async function waitForTable<K, V>(
  log: LogClient,
  topic: string,
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
  matches: (table: Map<K, V>) => boolean,
  what: string,
  timeoutMs = 120_000,
): Promise<Map<K, V>> {
  // reads the whole topic each round: rounds are spaced so the workers keep the CPU
  const deadline = Date.now() + timeoutMs;
  let last = new Map<K, V>();
  for (;;) {
    last = (await readTopic(log, topic, keySerde, valueSerde)).table;
    if (matches(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}; last table: ${JSON.stringify([...last]).slice(0, 400)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 400));
  }
}

export function sameMap<K, V>(a: Map<K, V>, b: Map<K, V>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    if (!b.has(k) || JSON.stringify(b.get(k)) !== JSON.stringify(v)) return false;
  }
  return true;
}

/**
 * For tests that run a worker in this process: a broker process in a fresh temp dir and a
 * client of it, started before the file's tests and stopped (the dir deleted) after them.
 * `root` is the temp dir, for the workers' state.
 */
export function brokerPerFile(prefix: string): { readonly log: LogClient; readonly root: string } {
  let broker: ChildProc | undefined;
  let log: LogClient | undefined;
  const root = tempDir(prefix);
  beforeAll(async () => {
    const b = await startBrokerProcess(`${root}/broker`);
    broker = b.proc;
    log = await connectBroker(b.address);
  });
  afterAll(async () => {
    await log?.close();
    broker?.kill("SIGTERM");
    await broker?.exited;
    fs.rmSync(root, { recursive: true, force: true });
  });
  return {
    get log() {
      if (log === undefined) throw new Error("brokerPerFile: the broker starts in beforeAll");
      return log;
    },
    root,
  };
}

/**
 * For tests that run scenarios of their own on a backend: `use(backend)` takes it for
 * this test; after each test, whatever its outcome, every worker left in `workers` is
 * SIGKILLed (a scenario kills some itself) and the backend closed.
 */
export function backendPerTest(): { readonly workers: WorkerProc[]; use(b: Backend): Backend } {
  let backend: Backend | undefined;
  const workers: WorkerProc[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) w.proc.kill("SIGKILL");
    await backend?.close();
    backend = undefined;
  });
  return {
    workers,
    use(b) {
      backend = b;
      return b;
    },
  };
}

/**
 * For tests that start worker processes on a broker of their own: `open()` starts the
 * broker, `start(app, name, extra)` a worker on it with a fresh state directory and the
 * `extra` worker-process flags; after each test, whatever its outcome, the workers are
 * stopped (killed if they will not stop, or already killed) and the broker closed.
 */
export function workersPerTest(): {
  open(): Promise<Backend>;
  start(app: string, name: string, extra?: string[]): Promise<WorkerProc>;
} {
  let backend: Backend | undefined;
  const workers: WorkerProc[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) await stopWorker(w).catch(() => w.proc.kill("SIGKILL"));
    await backend?.close();
    backend = undefined;
  });
  return {
    async open() {
      backend = await brokerBackend();
      return backend;
    },
    async start(app, name, extra = []) {
      if (backend === undefined) throw new Error("workersPerTest: open() the broker first");
      const w = await startWorker(backend, app, tempDir(name), extra);
      workers.push(w);
      return w;
    },
  };
}
