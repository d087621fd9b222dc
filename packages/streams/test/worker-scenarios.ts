import fs from "node:fs";
import { type LogClient, type Serde, Serdes } from "@tributary/log";
import { expect } from "vitest";
import { windowedSerde } from "../src/index.js";
import type { Enriched } from "./fixtures/orders-joins-app.js";
import type { PageView } from "./fixtures/page-views-app.js";
import type { Profile } from "./fixtures/profiles-app.js";
import { pick, randomLine, seeded } from "./helpers.js";
import {
  type Backend,
  produce,
  readTopic,
  sameMap,
  startWorker,
  stopWorker,
  tempDir,
  waitForTable,
  type WorkerProc,
} from "./runtime-helpers.js";
import {
  CUSTOMER_PARTITIONS,
  createJoinTopics,
  enrichedReference,
  generateRounds,
  joinReference,
  joinTopics,
  produceRound,
} from "./worker-joins-helpers.js";
import {
  byPartition,
  generateViews,
  MINUTE,
  SECOND,
  sessionReference,
  tumblingReference,
  waitCaughtUp,
} from "./worker-windows-helpers.js";

/**
 * The streams end-to-end scenarios, each a function of the log backend it runs on: the
 * worker-*.test.ts files run them over a broker process, packages/kafka/test runs the same
 * functions over a real Kafka broker. References are computed here with plain loops over
 * the generated input, independently of the DSL; the apps run in real worker processes.
 * Every scenario uses the backend's fresh names (a new broker, or a Kafka namespace).
 */

const str = Serdes.string();
const json = Serdes.json<unknown>();

/** Word count over 3000 lines on 3 partitions, state in RocksDB, internal topics as named. */
export async function wordCountScenario(backend: Backend): Promise<void> {
  const { log } = backend;
  await log.admin.createTopic("lines", { partitions: 3 });
  await log.admin.createTopic("word-counts", { partitions: 3 });
  const rand = seeded(11);
  const lines = Array.from({ length: 3000 }, () => randomLine(rand));
  const expected = new Map<string, number>();
  for (const line of lines) {
    for (const w of line.toLowerCase().split(/[^a-z0-9]+/)) {
      if (w !== "") expected.set(w, (expected.get(w) ?? 0) + 1);
    }
  }
  const worker = await startWorker(backend, "word-count-app.ts", tempDir("rt-wc-state"));
  await produce(
    log,
    "lines",
    lines.map((l, i) => ({ key: Buffer.from(`k${i % 50}`), value: Buffer.from(l) })),
  );
  const table = await waitForTable(
    log,
    "word-counts",
    str,
    json,
    (t) => sameMap(t, expected),
    "the reference counts",
  );
  expect(table).toEqual(expected);
  await stopWorker(worker);
  // internal topics were made as the design names them: the repartition topic sized by
  // its writer's input, the changelog compacted with one partition per task
  const changelog = await log.admin.describeTopic("wc-app-counts-changelog");
  expect(changelog.partitions.length).toBe(3);
  expect(changelog.config.cleanupPolicy).toBe("compact");
  const repartition = await log.admin.describeTopic("wc-app-words-repartition");
  expect(repartition.partitions.length).toBe(3);
  // kept regardless of record age: reprocessed history carries old event times
  expect(repartition.config.retentionMs).toBe(-1);
  // the group committed the end of the input
  const committed = await log.admin.fetchCommittedOffsets("wc-app", ["lines"]);
  const ends = await log.admin.listOffsets("lines", "latest");
  expect(committed.map((c) => c.offset).sort()).toEqual(ends.map((e) => e.offset).sort());
}

/** A KTable of the latest profile per key (tombstones delete) and counts regrouped by city. */
export async function tableScenario(backend: Backend): Promise<void> {
  const { log } = backend;
  await log.admin.createTopic("profiles", { partitions: 2 });
  await log.admin.createTopic("profiles-latest", { partitions: 2 });
  await log.admin.createTopic("city-counts", { partitions: 2 });
  const rand = seeded(5);
  const ids = Array.from({ length: 200 }, (_, i) => `user-${i}`);
  const cities = ["Oslo", "Lima", "Pune", "Kyiv", "Baku", "Accra"];
  const ops = Array.from({ length: 4000 }, (_, i) => {
    const key = pick(rand, ids);
    const value: Profile | null = rand() < 0.2 ? null : { name: `n${i}`, city: pick(rand, cities) };
    return { key, value };
  });
  const latest = new Map<string, Profile>();
  for (const op of ops) {
    if (op.value === null) latest.delete(op.key);
    else latest.set(op.key, op.value);
  }
  const perCity = new Map<string, number>();
  for (const p of latest.values()) perCity.set(p.city, (perCity.get(p.city) ?? 0) + 1);

  const worker = await startWorker(backend, "profiles-app.ts", tempDir("rt-profiles-state"));
  await produce(
    log,
    "profiles",
    ops.map((op) => ({
      key: Buffer.from(op.key),
      value: op.value === null ? null : Buffer.from(JSON.stringify(op.value)),
    })),
  );
  // a city whose last profile left has count 0 (or its row deleted): compare the non-zero rows
  const nonZero = (t: Map<string, unknown>) => new Map([...t].filter(([, n]) => n !== 0));
  await waitForTable(
    log,
    "city-counts",
    str,
    json,
    (t) => sameMap(nonZero(t), perCity),
    "the reference city counts",
  );
  await stopWorker(worker);
  const { table } = await readTopic(log, "profiles-latest", str, Serdes.json<Profile>());
  expect(table).toEqual(latest);
}

export interface CrashOptions {
  /** SIGKILLs in a row; every other restart also loses its local state. */
  kills: number;
  /** The worker's session timeout: a killed member holds its partitions until it expires. */
  sessionMs: number;
}

/**
 * A stateful worker (ids seen per key) killed with SIGKILL mid-stream, again and again:
 * it restores its store from the changelog and loses no input, so every key ends with the
 * reference set of ids (some possibly twice: at-least-once).
 */
export async function crashRestoreScenario(backend: Backend, o: CrashOptions): Promise<void> {
  const { log } = backend;
  const ids = Serdes.json<string[]>();
  const KEYS = Array.from({ length: 200 }, (_, i) => `group-${i}`);
  const EVENTS_PER_ROUND = 400;
  const workerFlags = ["--session-ms", String(o.sessionMs), "--commit-ms", "150"];
  await log.admin.createTopic("events", { partitions: 2 });
  await log.admin.createTopic("seen-ids-out", { partitions: 2 });
  const producer = log.producer();
  try {
    const rand = seeded(99);
    const expected = new Map<string, Set<string>>();
    let next = 0;
    const round = async (n: number, everyKey = false) => {
      const events = Array.from({ length: n }, (_, i) => {
        const key =
          everyKey && i < KEYS.length ? KEYS[i]! : KEYS[Math.floor(rand() * KEYS.length)]!;
        const id = `e${next++}`;
        const set = expected.get(key) ?? new Set<string>();
        expected.set(key, set.add(id));
        return { key: Buffer.from(key), value: Buffer.from(id) };
      });
      await producer.send("events", events);
    };

    let state = tempDir("crash-state");
    let restoredFromChangelog = 0;
    for (let kill = 0; kill < o.kills; kill++) {
      // every other restart loses its local state too: restore then replays the whole
      // changelog instead of the tail after the offset RocksDB stored
      if (kill % 2 === 1) {
        fs.rmSync(state, { recursive: true, force: true });
        state = tempDir("crash-state");
      }
      const w: WorkerProc = await startWorker(backend, "id-collector-app.ts", state, workerFlags);
      await round(EVENTS_PER_ROUND);
      // kill mid-stream: input keeps arriving, so some of it is processed, not committed
      let producing = true;
      const background = (async () => {
        while (producing) {
          await round(10);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const commits = () => w.proc.lines.filter((l) => l.includes('"event":"commit"')).length;
      await w.proc.waitForLine(() => commits() >= 2, "two commits");
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 300)));
      w.proc.kill("SIGKILL");
      await w.proc.exited;
      producing = false;
      await background;
      for (const e of w.proc.events<{ event: string; total?: number }>()) {
        if (e.event === "restore") restoredFromChangelog += e.total ?? 0;
      }
    }
    const last = await startWorker(backend, "id-collector-app.ts", state, workerFlags);
    await round(EVENTS_PER_ROUND, true);
    const table = await waitForTable(
      log,
      "seen-ids-out",
      str,
      ids,
      (t) => [...expected].every(([k, set]) => [...set].every((id) => t.get(k)?.includes(id))),
      "every id in the aggregates",
    );
    last.proc.kill("SIGTERM");
    await last.proc.exited;

    let twice = 0;
    for (const [key, set] of expected) {
      const seen = table.get(key)!;
      // at-least-once: nothing lost, nothing invented, some ids possibly seen twice
      expect(new Set(seen), key).toEqual(set);
      expect(seen.length, key).toBeGreaterThanOrEqual(set.size);
      twice += seen.length - set.size;
    }
    expect(restoredFromChangelog).toBeGreaterThan(0);
    const total = [...expected.values()].reduce((n, s) => n + s.size, 0);
    console.log(
      `${backend.name}: ${o.kills} SIGKILLs over ${total} events: ${twice} processed twice; ${restoredFromChangelog} changelog records restored`,
    );
    // the changelog alone holds the same state: its last record per key is the aggregate
    const changelog = await readTopic(log, "ids-app-seen-ids-changelog", str, ids);
    for (const [key, seen] of table) expect(changelog.table.get(key), key).toEqual(seen);
  } finally {
    await producer.close();
  }
}

const wkey = windowedSerde(str);
const counts = Serdes.msgpack<number | null>();
/** Reads raw bytes as hex (serialize is never used: this serde only reads). */
const hex: Serde<string> = {
  serialize: (s) => Buffer.from(s, "hex"),
  deserialize: (b) => (b === null ? (null as unknown as string) : b.toString("hex")),
};
const PARTITIONS = 2;

/** The table a windowed output ends in, by `key@start-end` (null values delete). */
async function windowedTable(log: LogClient, topic: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of (await readTopic(log, topic, wkey, counts)).records) {
    const k = `${r.key.key}@${r.key.window.start}-${r.key.window.end}`;
    if (r.value === null) out.delete(k);
    else out.set(k, r.value);
  }
  return out;
}

/**
 * Page views per window (fixtures/page-views-app.ts): tumbling 1-minute windows (grace
 * 10 s) and 30 s sessions over 12,000 views equal their references; views seconds late
 * count, minutes late drop; old segments leave the changelog by time, not by tombstones.
 */
export async function pageViewsWindowsScenario(backend: Backend): Promise<void> {
  const { log } = backend;
  await log.admin.createTopic("page-views", { partitions: PARTITIONS });
  await log.admin.createTopic("views-per-minute", { partitions: 1 });
  await log.admin.createTopic("views-per-session", { partitions: 1 });
  const views = generateViews(12_000, {
    seed: 7,
    users: 60,
    stepMs: 300,
    slightlyLate: 0.08,
    veryLate: 0.01,
  });
  const parts = byPartition(views, (v) => v.user, PARTITIONS);
  const tumbling = tumblingReference(parts, MINUTE, 10 * SECOND);
  const sessions = sessionReference(parts, 30 * SECOND, 10 * SECOND);
  // the generated data exercises both kinds of lateness
  expect(tumbling.dropped).toBeGreaterThan(50);
  expect(tumbling.lateButCounted).toBeGreaterThan(500);
  expect(sessions.dropped).toBeGreaterThan(50);

  await produce(
    log,
    "page-views",
    views.map((v: PageView) => ({
      key: Buffer.from(v.user),
      value: Buffer.from(JSON.stringify(v)),
      timestamp: v.ts,
    })),
  );
  const w = await startWorker(backend, "page-views-app.ts", tempDir("pv-state"));
  await waitCaughtUp(log, "pv-app", ["page-views"]);
  await stopWorker(w);

  const minuteTable = await windowedTable(log, "views-per-minute");
  expect(minuteTable).toEqual(new Map([...tumbling.windows].map(([k, ids]) => [k, ids.length])));

  const sessionTable = await windowedTable(log, "views-per-session");
  expect(sessionTable).toEqual(sessions.sessions);

  // retention (size + grace) drops whole old segments at commit without tombstones: the
  // changelog forgets them by time instead, kept size + grace + 1 day (as Kafka Streams')
  const changelog = await readTopic(log, "pv-app-per-minute-changelog", hex, hex);
  expect(changelog.records.some((r) => r.value === null)).toBe(false);
  expect(changelog.table.size).toBeGreaterThan(0);
  const config = (await log.admin.describeTopic("pv-app-per-minute-changelog")).config;
  expect(config.cleanupPolicy).toBe("compact,delete");
  expect(config.retentionMs).toBe(MINUTE + 10 * SECOND + 24 * 60 * MINUTE);
}

/**
 * Joins on a worker (fixtures/orders-joins-app.ts): orders enriched with customers
 * (stream-table left join, through a repartition sized by the customers' count) and paired
 * with payments inside 5 minutes (inner and outer stream-stream joins) equal their
 * references over 16,000 events.
 */
export async function ordersJoinsScenario(backend: Backend): Promise<void> {
  const { log } = backend;
  const rounds = generateRounds(20, 500, 300, 3);
  const enriched = enrichedReference(rounds);
  const ref = joinReference(rounds);
  expect(enriched.size).toBeGreaterThan(9000);
  expect([...enriched.values()].filter((e) => e.customer === null).length).toBeGreaterThan(500);
  expect(ref.pairs.size).toBeGreaterThan(1000);
  expect(ref.unmatched.size).toBeGreaterThan(1000);
  expect(ref.dropped).toBeGreaterThan(50);

  await createJoinTopics(log);
  const w = await startWorker(backend, "orders-joins-app.ts", tempDir("joins-state"), [
    "--commit-ms",
    "50",
  ]);
  // orders have 3 partitions, customers 2: the repartition topic feeding the join
  // takes the customers' count, so the join is co-partitioned
  const repartition = (await joinTopics(log)).slice(3);
  expect(repartition.length).toBe(1);
  expect((await log.admin.describeTopic(repartition[0]!)).partitions.length).toBe(
    CUSTOMER_PARTITIONS,
  );
  const producer = log.producer();
  const settle = async () => waitCaughtUp(log, "orders-joins-app", await joinTopics(log));
  for (const round of rounds) await produceRound(producer, round, settle);
  await settle();
  await producer.close();
  await stopWorker(w);

  const out = await readTopic(log, "enriched-orders", str, Serdes.json<Enriched>());
  expect(out.records.length).toBe(enriched.size);
  expect(new Map(out.records.map((r) => [r.value!.order, r.value]))).toEqual(enriched);
  // keyed by customer: the join ran after the repartition by customer
  const customerOf = new Map(
    rounds
      .flatMap((x) => x.events.flatMap((e) => (e.kind === "order" ? [e.order] : [])))
      .map((o) => [o.id, o.customer]),
  );
  for (const r of out.records) expect(r.key).toBe(customerOf.get(r.value!.order));

  const inner = (await readTopic(log, "paid-orders", str, str)).records.map((r) => r.value!);
  expect(inner.length).toBe(new Set(inner).size);
  expect(new Set(inner)).toEqual(ref.pairs);

  const outer = (await readTopic(log, "order-payments", str, str)).records.map((r) => r.value!);
  expect(outer.length).toBe(new Set(outer).size);
  expect(new Set(outer)).toEqual(new Set([...ref.pairs, ...ref.unmatched]));
}
