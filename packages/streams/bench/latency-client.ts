/**
 * The client half of latency-bench.ts, in its own process as a real application's
 * producer and consumer would be (the worker runs in the bench process): sends
 * RATE_PER_MS records every millisecond to <sendTopic> for <seconds> while reading
 * <readTopic>, and prints {"p50Ms","p99Ms","maxMs","records"}, arrival − send per record
 * after the first WARMUP_MS.
 *   value => sendTimeNs:uint64 (process.hrtime, monotonic) seq:uint32 processedAtNs:uint64
 *            padding (100 bytes); processedAtNs is 0 as sent, and the topology's mapValues
 *            stamps it, which splits a derived record's latency into its two hops.
 * Args: <log address (bench-log.ts)> <sendTopic> <readTopic> <partitions> <seconds>.
 */
import fs from "node:fs";
import type { LogClient, ProducerRecord } from "@tributary/log";
import { openAddress } from "./bench-log.js";
import { recordGcPauses, TRACE_DIR, writePauses } from "./latency-trace.js";

export const RATE_PER_MS = 10;
const WARMUP_MS = 1000;
export const VALUE_BYTES = 100;
/** Where a topology stamps, as uint64 hrtime ns, when it processed the record. */
export const PROCESSED_AT = 12;

export interface LatencyFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  records: number;
  /** For derived records: send → processed (the input hop) and processed → read (the
   * output hop), p50/p99 of each. */
  hops?: { inP50Ms: number; inP99Ms: number; outP50Ms: number; outP99Ms: number };
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
  const inHop: number[] = [];
  const outHop: number[] = [];
  /** LATENCY_TRACE: sentNs processedNs readNs per measured record (latency-trace.ts). */
  const trace: string[] = [];
  const gcPauses = TRACE_DIR === undefined ? null : recordGcPauses();
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
          const sentAt = v.readBigUInt64BE(0);
          latencies.push(Number(now - sentAt) / 1e6);
          const processedAt = v.readBigUInt64BE(PROCESSED_AT);
          if (gcPauses !== null) trace.push(`${sentAt}\t${processedAt}\t${now}\n`);
          if (processedAt !== 0n) {
            inHop.push(Number(processedAt - sentAt) / 1e6);
            outHop.push(Number(now - processedAt) / 1e6);
          }
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
          value.writeBigUInt64BE(0n, PROCESSED_AT);
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
  if (gcPauses !== null) {
    fs.writeFileSync(`${TRACE_DIR}/${readTopic}.records.tsv`, trace.join(""));
    writePauses(`client-${readTopic}`, gcPauses());
  }
  const result = figures(latencies);
  if (inHop.length > 0) {
    const i = figures(inHop);
    const o = figures(outHop);
    result.hops = { inP50Ms: i.p50Ms, inP99Ms: i.p99Ms, outP50Ms: o.p50Ms, outP99Ms: o.p99Ms };
  }
  return result;
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

if (process.argv[1] === import.meta.filename) {
  const [address, sendTopic, readTopic, partitions, seconds] = process.argv.slice(2) as [
    string,
    string,
    string,
    string,
    string,
  ];
  const log = await openAddress(address);
  const result = await measure(log, sendTopic, readTopic, Number(partitions), Number(seconds));
  await log.close();
  console.log(JSON.stringify(result));
}
