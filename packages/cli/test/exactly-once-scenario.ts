import fs from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { appDir, cli, eventually, jsonLines, type Spawned, spawnCli, tempDir } from "./helpers.js";
import { describeGroup } from "./reprocess-scenario.js";

/**
 * Kafka's streams_eos_test, reproduced with the real `tributary` command: a stateful app
 * (sum and count per key, a count over a repartition, a table-table join of sum and count)
 * runs as `tributary run --workers 3`; while input arrives, the workers are SIGKILLed in
 * rotation (the supervisor restarts each in its slot, with the same transactional id). A
 * verifier then reads every output read_committed and compares it with a reference
 * computed here from the generated input alone. Shared by the embedded suite
 * (exactly-once-workers-killed.test.ts), the Kafka suite and the fault loops; `where` is
 * the CLI's backend flags (`--data DIR` or `--kafka BROKERS`).
 */

export interface EosScenarioOptions {
  where: string[];
  /** Makes the app id and topic names unique (Kafka keeps names across tests). */
  suffix: string;
  guarantee: "exactly_once" | "at_least_once";
  /** Worker SIGKILLs, in rotation over the three slots. */
  kills: number;
  /** Input records in all. */
  records: number;
  commitIntervalMs?: number;
  /** No kill starts after this many ms (the fault loops' time budget); default none. */
  killBudgetMs?: number;
}

/** What the verifier read back, and what it expected. */
export interface EosScenarioResult {
  /** Times each input id appears in the echo output (expected: once each). */
  echoed: Map<number, number>;
  /** Per key, the committed sequence of sums / counts; per group, of counts. */
  sums: Map<string, number[]>;
  counts: Map<string, number[]>;
  groupCounts: Map<string, number[]>;
  /** Per key, the last joined "sum/count". */
  averages: Map<string, string>;
  reference: {
    sums: Map<string, number>;
    counts: Map<string, number>;
    groupCounts: Map<string, number>;
    averages: Map<string, string>;
  };
  /** RocksDB IDENTITY of every store directory, before the first kill and at the end. */
  identitiesBefore: Map<string, string>;
  identitiesAfter: Map<string, string>;
  /** Kills made (fewer than asked when the time budget ran out). */
  kills: number;
  stderr: string;
  exitCode: number | null;
}

const KEYS = 12;

interface Input {
  key: string;
  id: number;
  v: number;
}

/** The generated input: ids 0..n-1 over KEYS keys, small positive amounts. */
export function eosInput(n: number): Input[] {
  return Array.from({ length: n }, (_, id) => ({
    key: `k${(id * 7) % KEYS}`,
    id,
    v: 1 + (id % 9),
  }));
}

/** Sum, count, count per group and "sum/count" per key over the input, computed here. */
export function eosReference(input: readonly Input[]): EosScenarioResult["reference"] {
  const sums = new Map<string, number>();
  const counts = new Map<string, number>();
  const groupCounts = new Map<string, number>();
  for (const r of input) {
    sums.set(r.key, (sums.get(r.key) ?? 0) + r.v);
    counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
    const g = `g${r.v % 4}`;
    groupCounts.set(g, (groupCounts.get(g) ?? 0) + 1);
  }
  const averages = new Map<string, string>();
  for (const [k, s] of sums) averages.set(k, `${s}/${counts.get(k)}`);
  return { sums, counts, groupCounts, averages };
}

export function eosApp(applicationId: string, input: string, out: string): string {
  return `
import { Serdes, defineApp } from "@tributary/streams";
const str = Serdes.string();
const num = Serdes.json<number>();
export default defineApp({
  applicationId: "${applicationId}",
  topology: (b) => {
    const s = b.stream<string, { id: number; v: number }>("${input}", { keySerde: str, valueSerde: Serdes.json() });
    s.mapValues((x) => x.id).to("${out}-echo", { keySerde: str, valueSerde: num });
    const g = s.groupByKey();
    const sum = g.aggregate(() => 0, (_k, x, a: number) => a + x.v, { storeName: "sum", valueSerde: num });
    const cnt = g.count({ storeName: "cnt" });
    sum.toStream().to("${out}-sum", { keySerde: str, valueSerde: num });
    cnt.toStream().to("${out}-cnt", { keySerde: str, valueSerde: num });
    s.groupBy((_k, x) => "g" + (x.v % 4), { name: "bygroup", keySerde: str, valueSerde: Serdes.json() })
      .count({ storeName: "gcnt" })
      .toStream()
      .to("${out}-gcnt", { keySerde: str, valueSerde: num });
    sum.join(cnt, (a: number, c: number) => a + "/" + c, { storeName: "avg", valueSerde: Serdes.json<string>() })
      .toStream()
      .to("${out}-avg", { keySerde: str, valueSerde: Serdes.json<string>() });
  },
});
`;
}

/** The RocksDB IDENTITY of every store under the app's state: a store rebuilt from an
 * empty directory gets a new one. */
export function storeIdentities(stateDir: string, applicationId: string): Map<string, string> {
  const out = new Map<string, string>();
  const root = path.join(stateDir, applicationId);
  if (!fs.existsSync(root)) return out;
  for (const task of fs.readdirSync(root)) {
    const taskDir = path.join(root, task);
    if (!fs.statSync(taskDir).isDirectory()) continue;
    for (const store of fs.readdirSync(taskDir)) {
      const id = path.join(taskDir, store, "IDENTITY");
      if (fs.existsSync(id)) out.set(`${task}/${store}`, fs.readFileSync(id, "utf8").trim());
    }
  }
  return out;
}

/**
 * Writes the records as JSON lines, about 1,500 a second: every commit of every worker
 * carries records, so a kill mostly lands with a transaction open (under exactly-once
 * sends go out at commit: the transaction spans the commit).
 */
function feed(stdin: NodeJS.WritableStream, records: readonly Input[]): Promise<void> {
  return feedLines(
    stdin,
    records.map((r) => JSON.stringify({ key: r.key, value: { id: r.id, v: r.v } })),
  );
}

/** Writes `lines` to a `produce` process, 150 about every 100 ms, then ends its input. */
export async function feedLines(
  stdin: NodeJS.WritableStream,
  lines: readonly string[],
): Promise<void> {
  for (let i = 0; i < lines.length; i += 150) {
    const chunk = lines
      .slice(i, i + 150)
      .map((l) => `${l}\n`)
      .join("");
    if (!stdin.write(chunk)) await new Promise((resolve) => stdin.once("drain", resolve));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise<void>((resolve) => stdin.end(resolve));
}

/** The latest pid of each worker slot, from the supervisor's "worker N (pid P): tasks" lines. */
export function workerPids(stderr: string): Map<number, number> {
  const pids = new Map<number, number>();
  for (const m of stderr.matchAll(/worker (\d+) \(pid (\d+)\): tasks/g)) {
    pids.set(Number(m[1]), Number(m[2]));
  }
  return pids;
}

/** SIGKILLs the worker in `slot` of a `run` and waits until its restart has tasks. */
export async function killWorker(run: Spawned, slot: number): Promise<void> {
  const restarts = (run.stderr().match(/was killed by SIGKILL; restarting/g) ?? []).length;
  const pid = workerPids(run.stderr()).get(slot)!;
  process.kill(pid, "SIGKILL");
  await eventually("the supervisor to restart the killed worker", () =>
    (run.stderr().match(/was killed by SIGKILL; restarting/g) ?? []).length > restarts
      ? true
      : undefined,
  );
  await eventually("the restarted worker to get tasks", () =>
    workerPids(run.stderr()).get(slot) !== pid ? true : undefined,
  );
}

export async function runEosScenario(o: EosScenarioOptions): Promise<EosScenarioResult> {
  const app = `eos-${o.suffix}`;
  const input = `eos-in-${o.suffix}`;
  const out = `eos-out-${o.suffix}`;
  const dir = appDir();
  const stateDir = tempDir("tributary-eos-state-");
  fs.writeFileSync(path.join(dir, "eos.ts"), eosApp(app, input, out));
  cli(["topics", "create", input, "--partitions", "3", ...o.where]);
  for (const t of ["echo", "sum", "cnt", "gcnt", "avg"]) {
    cli(["topics", "create", `${out}-${t}`, "--partitions", "3", ...o.where]);
  }
  const records = eosInput(o.records);
  const committedInput = () =>
    describeGroup(app, o.where)
      .offsets.filter((x) => x.topic === input)
      .reduce((n, x) => n + x.offset, 0);

  const run = spawnCli([
    "run",
    path.join(dir, "eos.ts"),
    "--workers",
    "3",
    "--processing-guarantee",
    o.guarantee,
    "--commit-interval-ms",
    String(o.commitIntervalMs ?? 100),
    "--max-restarts",
    "1000",
    "--state-dir",
    stateDir,
    "--progress",
    "none",
    ...o.where,
  ]);
  await eventually("three workers with tasks", () =>
    workerPids(run.stderr()).size === 3 ? true : undefined,
  );

  // The input flows the whole time (as the EOS test's driver), so each kill lands while
  // the workers are processing, with a transaction open.
  const producer = spawnCli(
    [
      "produce",
      input,
      "--format",
      "json",
      "--value-serde",
      "json",
      "--batch-size",
      "20",
      ...o.where,
    ],
    { stdin: "pipe" },
  );
  const feeding = feed(producer.child.stdin!, records);
  let identitiesBefore = new Map<string, string>();
  const step = Math.floor(records.length / (o.kills + 1));
  const killsUntil = Date.now() + (o.killBudgetMs ?? Number.POSITIVE_INFINITY);
  let kills = 0;
  for (let k = 0; k < o.kills && Date.now() < killsUntil; k++) {
    kills++;
    await eventually("the workers to commit their share of the input", () =>
      committedInput() >= (k + 1) * step ? true : undefined,
    ).catch((e: Error) => {
      throw new Error(`${e.message} (kill ${k}): ${run.stderr().slice(-4000)}`);
    });
    if (k === 0) identitiesBefore = storeIdentities(stateDir, app);
    const slot = k % 3;
    await killWorker(run, slot);
  }
  await feeding;
  const produced = await producer.exited;
  if (produced !== 0) throw new Error(`produce exited ${produced}: ${producer.stderr()}`);
  await eventually(
    "every input record processed and committed, repartition included",
    () => {
      const g = describeGroup(app, o.where);
      const inputDone =
        g.offsets.filter((x) => x.topic === input).reduce((n, x) => n + x.offset, 0) ===
        records.length;
      return inputDone && g.offsets.every((x) => x.lag === 0) ? true : undefined;
    },
    300_000,
  );
  run.child.kill("SIGTERM");
  const exitCode = await run.exited;

  const read = (topic: string) =>
    jsonLines<{ key: string; value: unknown }>(
      cli([
        "consume",
        topic,
        "--format",
        "json",
        "--value-serde",
        "json",
        "--isolation",
        "read_committed",
        ...o.where,
      ]),
    );
  const sequences = (topic: string) => {
    const m = new Map<string, number[]>();
    for (const r of read(topic)) {
      const seq = m.get(r.key) ?? [];
      seq.push(r.value as number);
      m.set(r.key, seq);
    }
    return m;
  };
  const echoed = new Map<number, number>();
  for (const r of read(`${out}-echo`)) {
    echoed.set(r.value as number, (echoed.get(r.value as number) ?? 0) + 1);
  }
  const averages = new Map<string, string>();
  for (const r of read(`${out}-avg`)) averages.set(r.key, r.value as string);
  return {
    echoed,
    sums: sequences(`${out}-sum`),
    counts: sequences(`${out}-cnt`),
    groupCounts: sequences(`${out}-gcnt`),
    averages,
    reference: eosReference(records),
    identitiesBefore,
    identitiesAfter: storeIdentities(stateDir, app),
    kills,
    stderr: run.stderr(),
    exitCode,
  };
}

/** The last value of each key's sequence. */
export function lastValues(m: Map<string, number[]>): Map<string, number> {
  return new Map([...m].map(([k, seq]) => [k, seq[seq.length - 1]!]));
}

/** Keys whose committed sequence repeats or goes back (an output record seen twice). */
export function notStrictlyIncreasing(m: Map<string, number[]>): string[] {
  return [...m].filter(([, seq]) => seq.some((v, i) => i > 0 && v <= seq[i - 1]!)).map(([k]) => k);
}

/**
 * What exactly-once promises, checked against the independent reference: every input once
 * in the echo, every aggregate's last value the reference's, no aggregate output twice
 * (each committed sequence strictly increasing), and every store seen before the first
 * kill the same RocksDB database (IDENTITY) at the end: none rebuilt from empty.
 */
export function expectExactlyOnce(r: EosScenarioResult, records: number): void {
  expect(r.exitCode, r.stderr).toBe(0);
  const ids = [...r.echoed.keys()].sort((a, b) => a - b);
  expect(ids).toEqual(Array.from({ length: records }, (_, i) => i));
  expect([...r.echoed.values()].filter((n) => n !== 1)).toEqual([]);
  expect(lastValues(r.sums)).toEqual(r.reference.sums);
  expect(lastValues(r.counts)).toEqual(r.reference.counts);
  expect(lastValues(r.groupCounts)).toEqual(r.reference.groupCounts);
  expect(r.averages).toEqual(r.reference.averages);
  expect(notStrictlyIncreasing(r.sums)).toEqual([]);
  expect(notStrictlyIncreasing(r.counts)).toEqual([]);
  expect(notStrictlyIncreasing(r.groupCounts)).toEqual([]);
  expect(r.identitiesBefore.size).toBeGreaterThan(0);
  for (const [store, id] of r.identitiesBefore) expect(r.identitiesAfter.get(store)).toBe(id);
  expect(r.stderr).not.toMatch(/restoring from the start|moved aside/);
}
