import { type Serde, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import {
  defineApp,
  runWorker,
  SessionWindows,
  SlidingWindows,
  TimeWindows,
  windowedSerde,
} from "../src/index.js";
import { brokerPerFile, produce, readTopic, sameMap, waitForTable } from "./runtime-helpers.js";

// The worker runs in this process (so the test can set cacheMaxBytes) over a real broker
// process, with RocksDB window stores in a temp dir. The reference is a plain loop.

const str = Serdes.string();
const json = Serdes.json<number | null>();
const windowed = windowedSerde(str);
/** Output keys read back as "key@windowStart", so tables compare by value. */
const windowKey: Serde<string> = {
  serialize: () => {
    throw new Error("read-only");
  },
  deserialize: (b) => {
    const w = windowed.deserialize(b);
    return `${w.key}@${w.window.start}`;
  },
};
const KEYS = 10;
const UPDATES = 10_000;
const MIN = 60_000;
const BASE = 1_700_000_000_000 - (1_700_000_000_000 % MIN);
const broker = brokerPerFile("wrc");

/** Sliding windows' time difference in the sliding runs. */
const SLIDE = 1000;

/**
 * Per-minute counts per key (tumbling windows, grace 1 h so none close), or with
 * `sessions` counts per 10 s session (each key's records 5 s apart, so every run of them
 * merges into the key's one session, retracting the session it replaces), or with
 * `sliding` counts per 1 s sliding window → `<id>-counts`, and their sum over every window
 * (a table aggregation over the windowed table: it subtracts each old count and adds the
 * new one, so it is right only if every forwarded old value is) → `<id>-total`.
 */
async function run(
  id: string,
  cacheMaxBytes: number | undefined,
  mode: "tumbling" | "sessions" | "sliding" = "tumbling",
) {
  const sessions = mode === "sessions";
  const { log, root } = broker;
  const input = `${id}-in`;
  await log.admin.createTopic(input, { partitions: 2 });
  await log.admin.createTopic(`${id}-counts`, { partitions: 2 });
  await log.admin.createTopic(`${id}-total`, { partitions: 1 });
  const app = defineApp({
    applicationId: id,
    topology: (b) => {
      const grouped = b
        .stream<string, string>(input, { keySerde: str, valueSerde: str })
        .groupByKey();
      const counts = sessions
        ? grouped
            .windowedBy(SessionWindows.ofInactivityGapAndGrace(10_000, 60 * MIN))
            .count({ storeName: "counts" })
        : mode === "sliding"
          ? grouped
              .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(SLIDE, 60 * MIN))
              .count({ storeName: "counts" })
          : grouped
              .windowedBy(TimeWindows.ofSizeAndGrace(MIN, 60 * MIN))
              .count({ storeName: "counts" });
      counts.toStream().to(`${id}-counts`, { keySerde: windowed, valueSerde: json });
      counts
        .groupBy((_w, n) => ["all", n] as const, { name: "all", keySerde: str, valueSerde: json })
        .reduce(
          (a, n) => (a ?? 0) + (n ?? 0),
          (a, n) => (a ?? 0) - (n ?? 0),
          { storeName: "total" },
        )
        .toStream()
        .to(`${id}-total`, { keySerde: str, valueSerde: json });
    },
  });
  const worker = runWorker(app, {
    log,
    stateDir: `${root}/${id}-state`,
    // long enough that the whole input is processed within a few commit cycles
    commitIntervalMs: 2000,
    ...(cacheMaxBytes === undefined ? {} : { cacheMaxBytes }),
  });
  await worker.start();
  let expected = new Map<string, number>();
  const firstSeen = new Map<string, number>();
  const times = new Map<string, number[]>();
  const records = [];
  for (let i = 0; i < UPDATES; i++) {
    // runs of 5 updates to one key, the keys interleaved; 100 ms apart: ~17 windows
    const key = `key-${(Math.floor(i / 5) * 7) % KEYS}`;
    const timestamp = BASE + i * 100;
    if (!firstSeen.has(key)) firstSeen.set(key, timestamp);
    const start = sessions ? (firstSeen.get(key) as number) : timestamp - (timestamp % MIN);
    const w = `${key}@${start}`;
    expected.set(w, (expected.get(w) ?? 0) + 1);
    times.set(key, [...(times.get(key) ?? []), timestamp]);
    records.push({ key: Buffer.from(key), value: Buffer.from(`v${i}`), timestamp });
  }
  if (mode === "sliding") expected = slidingReference(times, SLIDE);
  const expectedTotal = [...expected.values()].reduce((a, n) => a + n, 0);
  await produce(log, input, records);
  const counts = await waitForTable(
    log,
    `${id}-counts`,
    windowKey,
    json,
    (t) => sameMap(t, expected),
    "the reference windowed counts",
  );
  const total = await waitForTable(
    log,
    `${id}-total`,
    str,
    json,
    (t) => t.get("all") === expectedTotal,
    `a total of ${expectedTotal}`,
  );
  await worker.stop();
  await worker.done;
  const out = await readTopic(log, `${id}-counts`, windowKey, json);
  return {
    counts,
    total,
    expectedTotal,
    windows: expected.size,
    outputRecords: out.records.length,
  };
}

/**
 * Kafka's sliding windows of each key, from its record times alone: [p - d, p] for every
 * record p, and [p + 1, p + 1 + d] when a record falls in it; each counts the records in
 * it (ends inclusive). "key@start" → count.
 */
function slidingReference(times: Map<string, number[]>, d: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, ts] of times) {
    const starts = new Set<number>();
    for (const p of ts) {
      starts.add(p - d);
      if (ts.some((q) => q > p && q <= p + 1 + d)) starts.add(p + 1);
    }
    for (const s of starts) {
      out.set(`${key}@${s}`, ts.filter((q) => q >= s && q <= s + d).length);
    }
  }
  return out;
}

describe("the worker's record cache on windowed aggregates", () => {
  it("forwards each window once per flush with its final count: 10,000 updates, tables as the reference", async () => {
    const r = await run("wrc-default", undefined);
    expect(r.counts.size).toBe(r.windows);
    expect(r.total).toEqual(new Map([["all", UPDATES]]));
    // one record per window per commit cycle that saw it (a few cycles), not per update
    expect(r.outputRecords).toBeGreaterThanOrEqual(r.windows);
    expect(r.outputRecords).toBeLessThan(UPDATES / 10);
  });

  it("forwards each merged session once per flush, retracting the sessions it replaced: tables as the reference", async () => {
    const r = await run("wrc-sessions", undefined, "sessions");
    expect(r.counts.size).toBe(KEYS);
    expect(r.total).toEqual(new Map([["all", UPDATES]]));
    // per flush: each key's session and the tombstone of the one it replaced, not two
    // records per update
    expect(r.outputRecords).toBeLessThan(UPDATES / 10);
  });

  it("forwards each sliding window once per flush: the same tables as without the cache, with fewer records", async () => {
    const cached = await run("wrc-sliding", undefined, "sliding");
    const uncached = await run("wrc-sliding-off", 0, "sliding");
    for (const r of [cached, uncached]) {
      expect(r.counts.size).toBe(r.windows);
      expect(r.total).toEqual(new Map([["all", r.expectedTotal]]));
    }
    // without the cache every window update goes downstream (a record changes the windows
    // of its neighbours within 1 s: 30,000 updates of 18,000 windows here); with it, one
    // per window per flush that saw it — windows last 1 s of event time, so few straddle
    // a flush
    expect(uncached.outputRecords).toBeGreaterThan(uncached.windows * 1.5);
    expect(cached.outputRecords).toBeGreaterThanOrEqual(cached.windows);
    expect(cached.outputRecords).toBeLessThan(cached.windows * 1.1);
  });

  it("with cacheMaxBytes 0, forwards every update", async () => {
    const r = await run("wrc-off", 0);
    expect(r.total).toEqual(new Map([["all", UPDATES]]));
    expect(r.outputRecords).toBe(UPDATES);
  });
});
