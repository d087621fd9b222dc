import { type Serde, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { defineApp, runWorker, SessionWindows, TimeWindows, windowedSerde } from "../src/index.js";
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

/**
 * Per-minute counts per key (tumbling windows, grace 1 h so none close), or with
 * `sessions` counts per 10 s session (each key's records 5 s apart, so every run of them
 * merges into the key's one session, retracting the session it replaces) → `<id>-counts`,
 * and their sum over every window (a table aggregation over the windowed table: it
 * subtracts each old count and adds the new one, so it is right only if every forwarded
 * old value is) → `<id>-total`.
 */
async function run(id: string, cacheMaxBytes: number | undefined, sessions = false) {
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
  const expected = new Map<string, number>();
  const firstSeen = new Map<string, number>();
  const records = [];
  for (let i = 0; i < UPDATES; i++) {
    // runs of 5 updates to one key, the keys interleaved; 100 ms apart: ~17 windows
    const key = `key-${(Math.floor(i / 5) * 7) % KEYS}`;
    const timestamp = BASE + i * 100;
    if (!firstSeen.has(key)) firstSeen.set(key, timestamp);
    const start = sessions ? (firstSeen.get(key) as number) : timestamp - (timestamp % MIN);
    const w = `${key}@${start}`;
    expected.set(w, (expected.get(w) ?? 0) + 1);
    records.push({ key: Buffer.from(key), value: Buffer.from(`v${i}`), timestamp });
  }
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
    (t) => t.get("all") === UPDATES,
    `a total of ${UPDATES}`,
  );
  await worker.stop();
  await worker.done;
  const out = await readTopic(log, `${id}-counts`, windowKey, json);
  return { counts, total, windows: expected.size, outputRecords: out.records.length };
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
    const r = await run("wrc-sessions", undefined, true);
    expect(r.counts.size).toBe(KEYS);
    expect(r.total).toEqual(new Map([["all", UPDATES]]));
    // per flush: each key's session and the tombstone of the one it replaced, not two
    // records per update
    expect(r.outputRecords).toBeLessThan(UPDATES / 10);
  });

  it("with cacheMaxBytes 0, forwards every update", async () => {
    const r = await run("wrc-off", 0);
    expect(r.total).toEqual(new Map([["all", UPDATES]]));
    expect(r.outputRecords).toBe(UPDATES);
  });
});
