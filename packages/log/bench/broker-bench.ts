/**
 * The broker's benchmark:
 *   cd packages/log && npx tsc -p tsconfig.bench.json && node dist-bench/bench/broker-bench.js
 *
 * A real broker in its own process on loopback, ONE producer process and ONE consumer
 * process (broker-bench-child.ts), 100-byte values with 16-byte keys over 3 partitions,
 * topic flush policy "os":
 * - produce: sends of 1,000 records through the ordinary producer, a few sends in flight;
 * - consume: the consumer reads the whole topic from offset 0 after the produce;
 * - latency: the producer sends 10 records every 1 ms (10,000 records/s) with each send's
 *   wall-clock time in the values; the consumer (long polling) computes now - sentAt;
 *   p50/p99 after the first tenth;
 * - baseline, in the same run: the same number of batch bytes pushed from one process to
 *   another over a plain loopback TCP socket in 1 MiB writes, best of three.
 * - secured, in the same run: produce and consume again through a second broker with TLS,
 *   SCRAM logins and ACLs (secured-broker.ts), as a shared platform runs it; the table says
 *   what that costs against the plain runs. BENCH_SECURED=0 skips it.
 * Prints a markdown table and ends with one JSON line. The machine is shared and slow:
 * read the ratios to the baseline first.
 *
 * Scale with BENCH_RECORDS (default 5,000,000), BENCH_LATENCY_RECORDS (200,000, 20 s),
 * BENCH_LATENCY_RATE (10,000/s), BENCH_IN_FLIGHT (sends in flight, 4) and
 * BENCH_WARM_RECORDS (200,000). BENCH_CPU_PROF=<dir> runs every child with --cpu-prof.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as readline from "node:readline";
import { connectBroker } from "../src/broker/connect-broker.js";
import { BATCH_HEADER_SIZE, encodeBatch } from "../src/record-batch.js";
import { BENCH_TOPIC, LATENCY_TOPIC, WARM_RECORDS, WARM_TOPIC } from "./broker-bench-child.js";
import { type ADMIN_USER, prepareSecuredBroker } from "./secured-broker.js";
import { BATCH, KEY_BYTES, makeSends, PARTITIONS, VALUE_BYTES } from "./workload.js";

const RECORDS = Number(process.env.BENCH_RECORDS ?? 5_000_000);
const LATENCY_RECORDS = Number(process.env.BENCH_LATENCY_RECORDS ?? 200_000);
const LATENCY_RATE = Number(process.env.BENCH_LATENCY_RATE ?? 10_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 4);
const CPU_PROF = process.env.BENCH_CPU_PROF;
const SECURED = process.env.BENCH_SECURED !== "0";
const CHILD = path.join(import.meta.dirname, "broker-bench-child.js");

/** A child role whose JSON stdout lines are read as they come. */
class Child {
  private readonly lines: unknown[] = [];
  private waiters: ((line: unknown) => void)[] = [];
  private readonly stderr: string[] = [];
  private exit: string | undefined;
  readonly proc: ChildProcess;

  constructor(
    readonly role: string,
    args: (string | number)[],
    env: Record<string, string> = {},
  ) {
    const execArgv = CPU_PROF
      ? ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF}`, `--cpu-prof-name=${role}.cpuprofile`]
      : [];
    this.proc = spawn(process.execPath, [...execArgv, CHILD, role, ...args.map(String)], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    readline.createInterface({ input: this.proc.stdout! }).on("line", (line) => {
      const parsed: unknown = JSON.parse(line);
      const w = this.waiters.shift();
      if (w !== undefined) w(parsed);
      else this.lines.push(parsed);
    });
    this.proc.stderr!.on("data", (d: Buffer) => this.stderr.push(d.toString()));
    this.proc.on("exit", (code, signal) => {
      this.exit = `${role} exited (${code ?? signal}): ${this.stderr.join("")}`;
      for (const w of this.waiters.splice(0)) w(new Error(this.exit));
    });
  }

  /** The next JSON line; throws if the process exits first. */
  async next<T>(): Promise<T> {
    const line =
      this.lines.shift() ??
      (this.exit !== undefined
        ? new Error(this.exit)
        : await new Promise<unknown>((resolve) => this.waiters.push(resolve)));
    if (line instanceof Error) throw line;
    return line as T;
  }

  async result<T>(): Promise<T> {
    return (await this.next<{ result: T }>()).result;
  }

  async ready<T>(): Promise<T> {
    return (await this.next<{ ready: T }>()).ready;
  }
}

interface Timed {
  records: number;
  secs: number;
  /** CPU (user + system) of the client process over the timed part. */
  cpuSecs?: number;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-broker-bench-"));
  const broker = new Child("broker", [dataDir]);
  const address = await broker.ready<string>();
  const admin = await connectBroker(address, { clientId: "bench-admin" });
  for (const topic of [WARM_TOPIC, BENCH_TOPIC, LATENCY_TOPIC]) {
    await admin.admin.createTopic(topic, { partitions: PARTITIONS, config: { flushPolicy: "os" } });
  }

  // The wire bytes of a record in a batch: what the producer sends and the consumer gets.
  const send = makeSends(1)[0]!;
  // A send is split into one batch per partition: one batch header each.
  const batchBytesPerRecord =
    (encodeBatch(send).length + (PARTITIONS - 1) * BATCH_HEADER_SIZE) / BATCH;
  const payload = KEY_BYTES + VALUE_BYTES;

  // The best of three: the baseline is the ceiling the broker runs are read against.
  const baselineBytes = Math.round(RECORDS * batchBytesPerRecord);
  let baseline = { bytes: baselineBytes, secs: Number.POSITIVE_INFINITY };
  for (let i = 0; i < 3; i++) {
    const receiver = new Child("baseline-receive", [baselineBytes]);
    const port = await receiver.ready<number>();
    const run = await new Child("baseline-send", [port, baselineBytes]).result<typeof baseline>();
    if (run.secs < baseline.secs) baseline = run;
  }
  const baselinePerSec = RECORDS / baseline.secs;

  const brokerCpu = async () => {
    broker.proc.stdin!.write("\n");
    return (await broker.next<{ cpuSecs: number }>()).cpuSecs;
  };
  const cpu0 = await brokerCpu();
  const produced = await new Child("produce", [address, RECORDS, IN_FLIGHT]).result<Timed>();
  const producePerSec = produced.records / produced.secs;
  const cpu1 = await brokerCpu();
  const consumed = await new Child("consume", [address, RECORDS]).result<Timed>();
  const consumePerSec = consumed.records / consumed.secs;
  const cpu2 = await brokerCpu();
  // The broker's CPU per record, warm-up records included (they pass through it too).
  const brokerProduceUs = ((cpu1 - cpu0) / (RECORDS + WARM_RECORDS)) * 1e6;
  const brokerConsumeUs = ((cpu2 - cpu1) / (RECORDS + WARM_RECORDS)) * 1e6;

  const latConsumer = new Child("latency-consume", [address, LATENCY_RECORDS]);
  await latConsumer.ready();
  const latProducer = new Child("latency-produce", [address, LATENCY_RECORDS, LATENCY_RATE]);
  const [latSent, latency] = await Promise.all([
    latProducer.result<Timed>(),
    latConsumer.result<{ p50Ms: number; p99Ms: number; maxMs: number }>(),
  ]);

  await admin.close();
  broker.proc.stdin!.end();
  await new Promise((resolve) => broker.proc.once("exit", resolve));
  fs.rmSync(dataDir, { recursive: true, force: true });
  const secured = SECURED ? await securedRuns() : undefined;

  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const mb = (perSec: number) => ((perSec * payload) / 1e6).toFixed(1);
  const pct = (perSec: number) => `${((perSec / baselinePerSec) * 100).toFixed(0)}% of baseline`;
  const cpu = (t: Timed, brokerUs: number) =>
    `; CPU µs/record: client ${(((t.cpuSecs ?? Number.NaN) / t.records) * 1e6).toFixed(2)}, broker ${brokerUs.toFixed(2)}`;
  console.log(
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? "?"}, node ${process.version}`,
  );
  console.log(
    `records: ${fmt(RECORDS)} (${KEY_BYTES}-byte keys, ${VALUE_BYTES}-byte values), sends of ${BATCH}, ${IN_FLIGHT} sends in flight, ${PARTITIONS} partitions, flush os; MB/s counts key+value bytes`,
  );
  console.log("| run | records/s | MB/s | note |");
  console.log("|---|---:|---:|---|");
  console.log(
    `| baseline: plain loopback TCP, 1 MiB writes, same batch bytes (best of 3) | ${fmt(baselinePerSec)} | ${mb(baselinePerSec)} | ${(baseline.bytes / baseline.secs / 1e6).toFixed(0)} MB/s on the wire |`,
  );
  console.log(
    `| produce via broker (1 producer process) | ${fmt(producePerSec)} | ${mb(producePerSec)} | ${pct(producePerSec)}${cpu(produced, brokerProduceUs)} |`,
  );
  console.log(
    `| consume via broker from offset 0 (1 consumer process) | ${fmt(consumePerSec)} | ${mb(consumePerSec)} | ${pct(consumePerSec)}${cpu(consumed, brokerConsumeUs)} |`,
  );
  console.log(
    `| produce→consume latency at ${fmt(latSent.records / latSent.secs)} records/s (10 per send) | | | p50 ${latency.p50Ms.toFixed(2)} ms, p99 ${latency.p99Ms.toFixed(2)} ms, max ${latency.maxMs.toFixed(1)} ms |`,
  );
  if (secured !== undefined) {
    const cost = (perSec: number, plain: number) =>
      `${((perSec / plain) * 100).toFixed(0)}% of the plain run`;
    console.log(
      `| produce via a broker with TLS + SCRAM + ACLs | ${fmt(secured.producePerSec)} | ${mb(secured.producePerSec)} | ${cost(secured.producePerSec, producePerSec)}${cpu(secured.produced, secured.brokerProduceUs)} |`,
    );
    console.log(
      `| consume via a broker with TLS + SCRAM + ACLs | ${fmt(secured.consumePerSec)} | ${mb(secured.consumePerSec)} | ${cost(secured.consumePerSec, consumePerSec)}${cpu(secured.consumed, secured.brokerConsumeUs)} |`,
    );
  }
  console.log(
    JSON.stringify({
      producePerSec: Math.round(producePerSec),
      consumePerSec: Math.round(consumePerSec),
      ...(secured === undefined
        ? {}
        : {
            producePerSecSecured: Math.round(secured.producePerSec),
            consumePerSecSecured: Math.round(secured.consumePerSec),
          }),
      p50Ms: Number(latency.p50Ms.toFixed(3)),
      p99Ms: Number(latency.p99Ms.toFixed(3)),
      baselinePerSec: Math.round(baselinePerSec),
    }),
  );
}

/**
 * The produce and consume runs again, through a broker with TLS, SCRAM logins and ACLs
 * (the bench user is not a super-user: every request is checked against the ACL list).
 */
async function securedRuns() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-broker-bench-secured-"));
  const setup = prepareSecuredBroker(dir, [WARM_TOPIC, BENCH_TOPIC]);
  const broker = new Child("broker", [setup.dataDir, setup.tlsDir]);
  const address = await broker.ready<string>();
  const admin = JSON.parse(setup.adminEnv) as { sasl: typeof ADMIN_USER; tlsCaFile: string };
  const adminClient = await connectBroker(address, {
    clientId: "bench-admin",
    sasl: admin.sasl,
    tlsCa: fs.readFileSync(admin.tlsCaFile),
  });
  for (const topic of [WARM_TOPIC, BENCH_TOPIC]) {
    await adminClient.admin.createTopic(topic, {
      partitions: PARTITIONS,
      config: { flushPolicy: "os" },
    });
  }
  const env = { BENCH_CLIENT: setup.clientEnv };
  const brokerCpu = async () => {
    broker.proc.stdin!.write("\n");
    return (await broker.next<{ cpuSecs: number }>()).cpuSecs;
  };
  const cpu0 = await brokerCpu();
  const produced = await new Child("produce", [address, RECORDS, IN_FLIGHT], env).result<Timed>();
  const cpu1 = await brokerCpu();
  const consumed = await new Child("consume", [address, RECORDS], env).result<Timed>();
  const cpu2 = await brokerCpu();
  await adminClient.close();
  broker.proc.stdin!.end();
  await new Promise((resolve) => broker.proc.once("exit", resolve));
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    produced,
    consumed,
    producePerSec: produced.records / produced.secs,
    consumePerSec: consumed.records / consumed.secs,
    brokerProduceUs: ((cpu1 - cpu0) / (RECORDS + WARM_RECORDS)) * 1e6,
    brokerConsumeUs: ((cpu2 - cpu1) / (RECORDS + WARM_RECORDS)) * 1e6,
  };
}

await main();
