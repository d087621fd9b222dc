import { type LogClient, type ProducerRecord, Serdes } from "@tributary/log";
import { defineApp, runWorker } from "../src/index.js";

/**
 * End-to-end latency (issue #14): from a producer's send to a consumer reading the
 * record a one-step topology (mapValues) derived from it, with one real worker in this
 * process at its default settings, against the produce→consume baseline measured in the
 * same run (the same producer straight to a topic read by the same consumer).
 *
 * The producer sends RATE_PER_MS records every millisecond (10,000/s), each value
 * stamped with its send time:
 *   value => sendTimeNs:uint64 (process.hrtime, monotonic) seq:uint32 padding (100 bytes)
 * The consumer takes arrival − send per record. Records of the first WARMUP_MS are left
 * out (connections, group join, first fetches).
 */
const RATE_PER_MS = 10;
const WARMUP_MS = 1000;
const VALUE_BYTES = 100;

export interface LatencyFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  records: number;
}

export interface LatencyResult {
  e2e: LatencyFigures;
  baseline: LatencyFigures;
  commitIntervalMs: number;
}

export async function latencyBench(
  log: LogClient,
  stateDir: string,
  options: { partitions: number; seconds: number },
): Promise<LatencyResult> {
  const { partitions, seconds } = options;
  const config = { retentionMs: -1 };
  for (const t of ["lat-base", "lat-in", "lat-out"]) {
    await log.admin.createTopic(t, { partitions, config });
  }
  const baseline = await measure(log, "lat-base", "lat-base", partitions, seconds);

  const bytes = Serdes.bytes();
  const app = defineApp({
    applicationId: "bench-latency",
    topology: (b) => {
      b.stream<Buffer, Buffer>("lat-in", { keySerde: bytes, valueSerde: bytes })
        .mapValues((v) => {
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
    const e2e = await measure(log, "lat-in", "lat-out", partitions, seconds);
    return { e2e, baseline, commitIntervalMs };
  } finally {
    await worker.stop();
  }
}

/** Sends for `seconds` at RATE_PER_MS to `sendTopic` while reading `readTopic`. */
async function measure(
  log: LogClient,
  sendTopic: string,
  readTopic: string,
  partitions: number,
  seconds: number,
): Promise<LatencyFigures> {
  const total = seconds * 1000 * RATE_PER_MS;
  const consumer = log.consumer({ autoOffsetReset: "earliest" });
  const tps = Array.from({ length: partitions }, (_, partition) => ({
    topic: readTopic,
    partition,
  }));
  consumer.assign(tps);
  for (const tp of tps) consumer.seek(tp, 0);
  const latencies: number[] = [];
  let received = 0;
  /** Set when the producer is done: the rest must arrive within 60 s. */
  let giveUpAt = Number.POSITIVE_INFINITY;
  const reading = (async () => {
    while (received < total) {
      if (performance.now() > giveUpAt) {
        throw new Error(`${readTopic}: ${received} of ${total} records arrived within 60 s`);
      }
      const fetched = await consumer.poll({ maxWaitMs: 100 });
      const now = process.hrtime.bigint();
      for (const f of fetched) {
        for (const r of f.records) {
          received++;
          const v = r.value!;
          if (v.readUInt32BE(8) < WARMUP_MS * RATE_PER_MS) continue;
          latencies.push(Number(now - v.readBigUInt64BE(0)) / 1e6);
        }
      }
    }
  })();
  reading.catch(() => {}); // awaited below; a poll failing meanwhile is not unhandled
  const producer = log.producer();
  const sends: Promise<unknown>[] = [];
  const start = performance.now();
  let sent = 0;
  try {
    while (sent < total) {
      const due = Math.min(total, Math.floor((performance.now() - start) * RATE_PER_MS));
      if (due > sent) {
        const records: ProducerRecord[] = [];
        const at = process.hrtime.bigint();
        for (let i = sent; i < due; i++) {
          const value = Buffer.alloc(VALUE_BYTES, 0x61);
          value.writeBigUInt64BE(at, 0);
          value.writeUInt32BE(i, 8);
          records.push({ key: Buffer.from(`key-${i % 1000}`), value });
        }
        sends.push(producer.send(sendTopic, records));
        sent = due;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(sends);
  } finally {
    giveUpAt = performance.now() + 60_000;
    await producer.close();
  }
  try {
    await reading;
  } finally {
    await consumer.close();
  }
  return figures(latencies);
}

function figures(latencies: number[]): LatencyFigures {
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? 0;
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
    records: sorted.length,
  };
}
