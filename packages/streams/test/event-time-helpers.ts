import fs from "node:fs";
import { type LogClient, type ProducerRecord, Serdes } from "@tributary/log";
import { type Serde, windowedSerde } from "../src/index.js";
import { CLICK_WINDOWS, type Click, MINUTE } from "./fixtures/clicks-app.js";
import { seeded } from "./helpers.js";
import {
  type Backend,
  brokerBackend,
  produce,
  startWorker,
  stopWorker,
  tempDir,
  type WorkerProc,
} from "./runtime-helpers.js";
import { waitCaughtUp } from "./worker-windows-helpers.js";

/**
 * Helpers of the event-time tests (issue 11): an hour of clicks with event times, the
 * reference per-page hopping-window counts of that history processed in event-time
 * order, and the app's output read back as `page@start` → count.
 */

/** Topic config for history: the events are from 2023, and time retention would delete
 * them (by record time) before the app reads them. */
export const HISTORY = { retentionMs: -1 } as const;

export const START = 1_700_000_000_000 - (1_700_000_000_000 % MINUTE);

/**
 * `n` clicks over one hour from START, by `users` users over `pages` pages, each up to
 * 20 s out of order (inside the 30 s grace), so processed in event-time order none is late.
 */
export function generateClicks(n: number, seed: number, users = 50, pages = 20): Click[] {
  const rand = seeded(seed);
  const out: Click[] = [];
  for (let i = 0; i < n; i++) {
    const now = START + Math.floor((i * 60 * MINUTE) / n);
    const ts = Math.max(START, now - Math.floor(rand() * 20_000));
    const user = `user-${Math.floor(rand() * users)}`;
    out.push({ id: `c${i}`, user, page: `page-${Math.floor(rand() * pages)}`, ts });
  }
  return out;
}

/** Per page and hopping window (`page@start`), the clicks in it. */
export function clickReference(clicks: readonly Click[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of clicks) {
    for (const start of CLICK_WINDOWS.windowStartsFor(c.ts)) {
      const k = `${c.page}@${start}`;
      out.set(k, (out.get(k) ?? 0) + 1);
    }
  }
  return out;
}

const WINDOWED = windowedSerde(Serdes.string());

/** The output's windowed keys read as `page@start` strings, so tables compare as maps. */
export const pageWindowKey: Serde<string> = {
  name: "page@start",
  serialize: () => {
    throw new Error("read only");
  },
  deserialize: (b) => {
    const w = WINDOWED.deserialize(b)!;
    return `${w.key}@${w.window.start}`;
  },
};

export const countSerde = Serdes.msgpack<number | null>();

/** Clicks as records keyed by user, with their event times as timestamps. */
export function clickRecords(clicks: readonly Click[], partition?: number): ProducerRecord[] {
  return clicks.map((c) => ({
    key: Buffer.from(c.user),
    value: Buffer.from(JSON.stringify(c)),
    timestamp: c.ts,
    ...(partition === undefined ? {} : { partition }),
  }));
}

/** Produces the clicks to `topic` (default "clicks"). */
export async function produceClicks(
  log: LogClient,
  clicks: readonly Click[],
  topic = "clicks",
): Promise<void> {
  await produce(log, topic, clickRecords(clicks));
}

/** Runs `body` on a fresh broker with `topics` made (`partitions` each, kept forever). */
export async function onBroker(
  topics: readonly string[],
  partitions: number,
  body: (backend: Backend) => Promise<void>,
): Promise<void> {
  const backend = await brokerBackend();
  try {
    for (const t of topics) {
      await backend.log.admin.createTopic(t, { partitions, config: HISTORY });
    }
    await body(backend);
  } finally {
    await backend.close();
  }
}

/** Runs `n` workers of the clicks app `app` until they have read all clicks, then stops
 * them; returns them (their state dirs). */
export async function runClickApp(
  backend: Backend,
  app: string,
  n: number,
  env: Record<string, string> = {},
  whileRunning: (workers: WorkerProc[]) => Promise<void> = async () => {},
): Promise<WorkerProc[]> {
  const workers = await startClickWorkers(backend, app, n, env);
  try {
    await whileRunning(workers);
    await waitCaughtUp(backend.log, app, ["clicks", `${app}-by-page-repartition`], 120_000);
  } finally {
    await stopWorkers(workers);
  }
  return workers;
}

/** Starts `n` worker processes of the clicks app named `app` (each its own state dir). */
export async function startClickWorkers(
  on: Parameters<typeof startWorker>[0],
  app: string,
  n: number,
  env: Record<string, string> = {},
): Promise<WorkerProc[]> {
  const saved = { ...process.env };
  Object.assign(process.env, { CLICKS_APP: app, ...env });
  try {
    const workers: WorkerProc[] = [];
    for (let i = 0; i < n; i++) {
      workers.push(await startWorker(on, "clicks-app.ts", tempDir(`${app}-${i}`)));
    }
    return workers;
  } finally {
    process.env = saved;
  }
}

export async function stopWorkers(workers: readonly WorkerProc[]): Promise<void> {
  await Promise.all(
    workers.map((w) =>
      stopWorker(w).catch((e: Error) => {
        const errors = w.proc.lines.filter((l) => l.includes('"event":"error"'));
        throw new Error(`${e.message} ${errors.join(" ")}`);
      }),
    ),
  );
}

/** The keys whose counts differ, for a failure message. */
export function diff(got: Map<string, number>, want: Map<string, number>): string {
  const wrong: string[] = [];
  for (const [k, v] of want) if (got.get(k) !== v) wrong.push(`${k}: ${got.get(k)} != ${v}`);
  for (const k of got.keys()) if (!want.has(k)) wrong.push(`${k}: unexpected`);
  let sumGot = 0;
  let sumWant = 0;
  for (const v of got.values()) sumGot += v;
  for (const v of want.values()) sumWant += v;
  return `${wrong.length} windows wrong (sum ${sumGot} vs ${sumWant}): ${wrong.slice(0, 40).join("; ")}`;
}

/**
 * What `tributary reset --app <app> --to-earliest` does (packages/cli reset.ts), with the
 * admin API: input offsets to earliest, the repartition topic emptied (deleted, created
 * again, its offsets reset), changelogs deleted, local state removed.
 */
export async function resetToEarliest(
  log: LogClient,
  app: string,
  stateDirs: readonly string[],
): Promise<void> {
  await log.admin.resetOffsets(app, { to: "earliest" }, { topics: ["clicks"] });
  const internal = (await log.admin.listTopics({ includeInternal: true })).filter(
    (t) => t.startsWith(`${app}-`) && (t.endsWith("-repartition") || t.endsWith("-changelog")),
  );
  for (const t of internal) {
    const d = t.endsWith("-repartition") ? await log.admin.describeTopic(t) : undefined;
    await log.admin.deleteTopic(t);
    if (d !== undefined) {
      await log.admin.createTopic(t, { partitions: d.partitions.length, config: d.config });
      await log.admin.resetOffsets(app, { to: "earliest" }, { topics: [t] });
    }
  }
  for (const dir of stateDirs) fs.rmSync(dir, { recursive: true, force: true });
}
