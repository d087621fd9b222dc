/**
 * The processes of the broker benchmark (broker-bench.ts), one role per process:
 *
 *   broker-bench-child.js broker <dataDir> [tlsDir]             a broker on 127.0.0.1:<free port>;
 *                                                               prints its CPU seconds per stdin line;
 *                                                               with tlsDir: TLS, logins and ACLs
 *   broker-bench-child.js produce <address> <records> <inFlight>
 *   broker-bench-child.js consume <address> <records>
 *   broker-bench-child.js latency-consume <address> <records>
 *   broker-bench-child.js latency-produce <address> <records> <recordsPerSec>
 *   broker-bench-child.js baseline-receive <bytes>
 *   broker-bench-child.js baseline-send <port> <bytes>
 *
 * Clients take their login and CA from BENCH_CLIENT (JSON: { sasl, tlsCaFile }), if set.
 * Each prints JSON lines on stdout: `{"ready":…}` when it is set up, `{"result":…}` when
 * done. The broker runs until its stdin closes, so a parent that dies takes it along.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { pino } from "pino";
import { formatBrokerAddress } from "../src/broker/broker-address.js";
import { connectBroker } from "../src/broker/connect-broker.js";
import { startBroker } from "../src/broker/run-broker.js";
import type { LogClient } from "../src/client/log-client.js";
import type { RemoteLogServiceOptions } from "../src/broker/remote-log-service.js";
import type { ProducerRecord } from "../src/record.js";

import { BATCH, KEY_BYTES, makeSends, PARTITIONS, VALUE_BYTES } from "./workload.js";

/** Topics the parent creates before starting producers and consumers. */
export const WARM_TOPIC = "warm";
export const BENCH_TOPIC = "bench";
export const LATENCY_TOPIC = "latency";
/** Records the producer and consumer pass through first, so the JIT has settled. */
export const WARM_RECORDS = Number(process.env.BENCH_WARM_RECORDS ?? 200_000);

/** The clients' connection options: the secured run's login and CA (BENCH_CLIENT). */
function clientOptions(clientId: string): RemoteLogServiceOptions {
  const env = process.env.BENCH_CLIENT;
  if (env === undefined) return { clientId };
  const c = JSON.parse(env) as { sasl: { username: string; password: string }; tlsCaFile: string };
  return { clientId, sasl: c.sasl, tlsCa: fs.readFileSync(c.tlsCaFile) };
}

function emit(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function seconds(start: number): number {
  return (performance.now() - start) / 1000;
}

/** User + system CPU seconds this process spent since `since`. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

/** Wall clock in ms with sub-ms precision, comparable between processes on one machine. */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

async function broker(dataDir: string, tlsDir?: string): Promise<void> {
  const f = (name: string) => fs.readFileSync(path.join(tlsDir!, name));
  const running = await startBroker({
    dataDir,
    address: tlsDir === undefined ? "tcp://127.0.0.1:0" : "tls://127.0.0.1:0",
    logger: pino({ level: "silent" }),
    logOptions: { maintenanceIntervalMs: 0 },
    ...(tlsDir === undefined
      ? {}
      : {
          tls: { cert: f("broker.pem"), key: f("broker.key") },
          acls: { superUsers: ["User:admin"] },
        }),
  });
  emit({ ready: formatBrokerAddress(running.address) });
  // Each stdin line asks for the CPU seconds used so far; the end of stdin stops the broker.
  const start = process.cpuUsage();
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (text: string) => {
    for (let i = 0; i < text.split("\n").length - 1; i++) emit({ cpuSecs: cpuSeconds(start) });
  });
  process.stdin.on("end", () => {
    void running.stop().then(() => process.exit(0));
  });
}

async function produceRun(
  log: LogClient,
  topic: string,
  sends: ProducerRecord[][],
  total: number,
  inFlight: number,
): Promise<number> {
  const producer = log.producer();
  const start = performance.now();
  const window: Promise<unknown>[] = [];
  for (let sent = 0, i = 0; sent < total; sent += BATCH) {
    window.push(producer.send(topic, sends[i++ % sends.length]!));
    if (window.length >= inFlight) await window.shift();
  }
  await Promise.all(window);
  return seconds(start);
}

async function produce(address: string, total: number, inFlight: number): Promise<void> {
  const log = await connectBroker(address, clientOptions("bench-producer"));
  const sends = makeSends(100);
  await produceRun(log, WARM_TOPIC, sends, WARM_RECORDS, inFlight);
  const cpu = process.cpuUsage();
  const secs = await produceRun(log, BENCH_TOPIC, sends, total, inFlight);
  const cpuSecs = cpuSeconds(cpu);
  await log.close();
  emit({ result: { records: total, secs, cpuSecs } });
}

async function consumeRun(log: LogClient, topic: string, total: number): Promise<number> {
  const consumer = log.consumer({ clientId: "bench-consumer" });
  consumer.assign(Array.from({ length: PARTITIONS }, (_, p) => ({ topic, partition: p })));
  for (let p = 0; p < PARTITIONS; p++) consumer.seek({ topic, partition: p }, 0);
  let n = 0;
  let checksum = 0;
  const start = performance.now();
  while (n < total) {
    const polled = await consumer.poll({ maxWaitMs: 0 });
    if (polled.length === 0) break;
    for (const fp of polled) {
      const records = fp.records;
      for (let i = 0; i < records.length; i++) {
        // Touch key and value so the decode is real work, not dead code.
        const r = records[i]!;
        checksum += r.value!.length + r.key!.length;
      }
      n += records.length;
    }
  }
  const secs = seconds(start);
  await consumer.close();
  if (n < total || checksum !== n * (VALUE_BYTES + KEY_BYTES)) {
    throw new Error(`consume read ${n} of ${total} records (checksum ${checksum})`);
  }
  return secs;
}

async function consume(address: string, total: number): Promise<void> {
  const log = await connectBroker(address, clientOptions("bench-consumer"));
  await consumeRun(log, WARM_TOPIC, WARM_RECORDS);
  const cpu = process.cpuUsage();
  const secs = await consumeRun(log, BENCH_TOPIC, total);
  const cpuSecs = cpuSeconds(cpu);
  await log.close();
  emit({ result: { records: total, secs, cpuSecs } });
}

/** Reads `total` records as they arrive and reports each one's send-to-receive time. */
async function latencyConsume(address: string, total: number): Promise<void> {
  const log = await connectBroker(address, clientOptions("bench-latency-consumer"));
  const consumer = log.consumer({ clientId: "bench-latency-consumer" });
  consumer.assign(
    Array.from({ length: PARTITIONS }, (_, p) => ({ topic: LATENCY_TOPIC, partition: p })),
  );
  for (let p = 0; p < PARTITIONS; p++) consumer.seek({ topic: LATENCY_TOPIC, partition: p }, 0);
  await consumer.poll({ maxWaitMs: 0 });
  emit({ ready: true });
  const latencies = new Float64Array(total);
  let n = 0;
  while (n < total) {
    const polled = await consumer.poll({ maxWaitMs: 500 });
    const now = wallNow();
    for (const fp of polled) {
      for (const r of fp.records) {
        if (n < total) latencies[n++] = now - r.value!.readDoubleLE(0);
      }
    }
  }
  await consumer.close();
  await log.close();
  // The first tenth is the warm-up: connections settle, the JIT compiles.
  const steady = latencies.subarray(Math.floor(total / 10)).sort();
  const at = (q: number) => steady[Math.min(steady.length - 1, Math.floor(q * steady.length))]!;
  emit({ result: { records: total, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) } });
}

/**
 * Sends `total` records at `perSec`, 10 records per send, each with its send time (wall
 * clock, float64 LE) in the first 8 bytes of its value. A timer wakes about every
 * millisecond and sends what is due, so a late wake-up is caught up, not dropped.
 */
async function latencyProduce(address: string, total: number, perSec: number): Promise<void> {
  const SEND = 10;
  const log = await connectBroker(address, clientOptions("bench-latency-producer"));
  const producer = log.producer();
  let keyN = 0;
  const nextSend = (): ProducerRecord[] => {
    const records: ProducerRecord[] = [];
    const sentAt = wallNow();
    for (let i = 0; i < SEND; i++, keyN++) {
      const key = Buffer.alloc(KEY_BYTES);
      key.write(`key-${keyN.toString(16).padStart(11, "0")}`);
      const value = Buffer.alloc(VALUE_BYTES);
      value.writeDoubleLE(sentAt, 0);
      records.push({ key, value });
    }
    return records;
  };
  const pending = new Set<Promise<unknown>>();
  let failure: unknown;
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    if (failure !== undefined) throw failure;
    const due = Math.min(total, Math.floor(((performance.now() - start) * perSec) / 1000));
    while (sent + SEND <= due || (sent < due && due === total)) {
      const p: Promise<unknown> = producer.send(LATENCY_TOPIC, nextSend()).then(
        () => pending.delete(p),
        (err: unknown) => (failure = err),
      );
      pending.add(p);
      sent += SEND;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
  await log.close();
  emit({ result: { records: sent, secs: seconds(start) } });
}

/** Counts bytes; answers one byte when `total` have arrived. */
async function baselineReceive(total: number): Promise<void> {
  const server = net.createServer((socket) => {
    let got = 0;
    socket.on("data", (chunk: Buffer) => {
      got += chunk.length;
      if (got >= total) {
        socket.end(Buffer.alloc(1));
        server.close();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  emit({ ready: (server.address() as net.AddressInfo).port });
}

/** Writes `total` bytes in 1 MiB chunks (respecting backpressure) and times the answer. */
async function baselineSend(port: number, total: number): Promise<void> {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.setNoDelay(true);
  const chunk = Buffer.alloc(1024 * 1024, 7);
  const answered = new Promise<void>((resolve) => socket.once("data", () => resolve()));
  const start = performance.now();
  for (let sent = 0; sent < total; ) {
    const n = Math.min(chunk.length, total - sent);
    const more = socket.write(n === chunk.length ? chunk : chunk.subarray(0, n));
    sent += n;
    if (!more) await new Promise((resolve) => socket.once("drain", resolve));
  }
  await answered;
  const secs = seconds(start);
  socket.destroy();
  emit({ result: { bytes: total, secs } });
}

async function main(): Promise<void> {
  const [role, a, b, c] = process.argv.slice(2);
  switch (role) {
    case "broker":
      return broker(a!, b);
    case "produce":
      return produce(a!, Number(b), Number(c));
    case "consume":
      return consume(a!, Number(b));
    case "latency-consume":
      return latencyConsume(a!, Number(b));
    case "latency-produce":
      return latencyProduce(a!, Number(b), Number(c));
    case "baseline-receive":
      return baselineReceive(Number(a));
    case "baseline-send":
      return baselineSend(Number(a), Number(b));
    default:
      throw new Error(`unknown role ${role}`);
  }
}

// Imported by broker-bench.ts for the constants: only run as a script.
if (
  process.argv[1] !== undefined &&
  import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"))
) {
  await main();
}
