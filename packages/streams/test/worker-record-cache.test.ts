import { Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { defineApp, runWorker } from "../src/index.js";
import { brokerPerFile, produce, readTopic, sameMap, waitForTable } from "./runtime-helpers.js";

// The worker runs in this process (so the test can set cacheMaxBytes) over a real broker
// process, with RocksDB stores in a temp dir. The reference is a plain loop.

const str = Serdes.string();
const json = Serdes.json<number | null>();
const KEYS = 10;
const UPDATES = 10_000;
const broker = brokerPerFile("rc");

/**
 * counts per key (a grouped-stream aggregation) → `<id>-counts`, and their sum over every
 * key (a grouped-table aggregation over the counts table: it subtracts each old count and
 * adds the new one, so it is right only if every forwarded old value is) → `<id>-total`.
 */
async function run(id: string, cacheMaxBytes: number | undefined) {
  const { log, root } = broker;
  const input = `${id}-in`;
  await log.admin.createTopic(input, { partitions: 2 });
  await log.admin.createTopic(`${id}-counts`, { partitions: 2 });
  await log.admin.createTopic(`${id}-total`, { partitions: 1 });
  const app = defineApp({
    applicationId: id,
    topology: (b) => {
      const counts = b
        .stream<string, string>(input, { keySerde: str, valueSerde: str })
        .groupByKey()
        .count({ storeName: "counts" });
      counts.toStream().to(`${id}-counts`, { keySerde: str, valueSerde: json });
      counts
        .groupBy((_k, n) => ["all", n] as const, { name: "all", keySerde: str, valueSerde: json })
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
    // long enough that the whole input is processed within one or two commit cycles
    commitIntervalMs: 2000,
    ...(cacheMaxBytes === undefined ? {} : { cacheMaxBytes }),
  });
  await worker.start();
  const expected = new Map<string, number>();
  const records = [];
  for (let i = 0; i < UPDATES; i++) {
    // runs of 5 updates to one key, the keys interleaved
    const key = `key-${(Math.floor(i / 5) * 7) % KEYS}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
    records.push({ key: Buffer.from(key), value: Buffer.from(`v${i}`) });
  }
  await produce(log, input, records);
  const counts = await waitForTable(
    log,
    `${id}-counts`,
    str,
    json,
    (t) => sameMap(t, expected),
    "the reference counts",
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
  const out = await readTopic(log, `${id}-counts`, str, json);
  return { counts, total, outputRecords: out.records.length };
}

describe("the worker's record cache", () => {
  it("forwards an aggregate once per key per flush: 10,000 updates to 10 keys, final tables as the reference", async () => {
    const r = await run("rc-default", undefined);
    expect(r.counts.size).toBe(KEYS);
    expect(r.total).toEqual(new Map([["all", UPDATES]]));
    // one record per key per commit cycle that saw it (a few cycles at most), not per update
    expect(r.outputRecords).toBeGreaterThanOrEqual(KEYS);
    expect(r.outputRecords).toBeLessThan(UPDATES / 20);
  });

  it("with a cache too small for the keys, flushes on overflow: more records, same tables", async () => {
    // two pending changes fit: a third key flushes them, so each run of 5 updates to one
    // key goes out about once
    const r = await run("rc-small", 400);
    expect(r.total).toEqual(new Map([["all", UPDATES]]));
    expect(r.outputRecords).toBeGreaterThan(UPDATES / 20);
    expect(r.outputRecords).toBeLessThan(UPDATES / 2);
  });

  it("with cacheMaxBytes 0, forwards every update", async () => {
    const r = await run("rc-off", 0);
    expect(r.total).toEqual(new Map([["all", UPDATES]]));
    expect(r.outputRecords).toBe(UPDATES);
  });
});
