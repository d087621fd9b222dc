import { connectBroker, type LogClient, Serdes } from "@tributary/log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Profile } from "./fixtures/profiles-app.js";
import { pick, randomLine, seeded } from "./helpers.js";
import {
  type ChildProc,
  produce,
  readTopic,
  sameMap,
  startBrokerProcess,
  startWorker,
  stopWorker,
  tempDir,
  waitForTable,
} from "./runtime-helpers.js";

// References are computed here with plain loops over the generated input, independently
// of the DSL; the apps run in real worker processes over a real broker process.

const str = Serdes.string();
const json = Serdes.json<unknown>();
let broker: ChildProc;
let log: LogClient;
let brokerAddress = "";

beforeAll(async () => {
  const b = await startBrokerProcess(tempDir("rt-broker"));
  broker = b.proc;
  brokerAddress = b.address;
  log = await connectBroker(b.address);
});

afterAll(async () => {
  await log?.close();
  broker?.kill("SIGTERM");
  await broker?.exited;
});

describe("a worker process over the broker", () => {
  it("counts words like the reference over 3000 lines on 3 partitions, state in RocksDB", async () => {
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
    const state = tempDir("rt-wc-state");
    const worker = await startWorker(brokerAddress, "word-count-app.ts", state);
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
    expect((await log.admin.describeTopic("wc-app-words-repartition")).partitions.length).toBe(3);
    // the group committed the end of the input
    const committed = await log.admin.fetchCommittedOffsets("wc-app", ["lines"]);
    const ends = await log.admin.listOffsets("lines", "latest");
    expect(committed.map((c) => c.offset).sort()).toEqual(ends.map((e) => e.offset).sort());
  });

  it("keeps a KTable of the latest value per key (tombstones delete) and regrouped counts, over 4000 updates", async () => {
    await log.admin.createTopic("profiles", { partitions: 2 });
    await log.admin.createTopic("profiles-latest", { partitions: 2 });
    await log.admin.createTopic("city-counts", { partitions: 2 });
    const rand = seeded(5);
    const ids = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const cities = ["Oslo", "Lima", "Pune", "Kyiv", "Baku", "Accra"];
    const ops = Array.from({ length: 4000 }, (_, i) => {
      const key = pick(rand, ids);
      const value: Profile | null =
        rand() < 0.2 ? null : { name: `n${i}`, city: pick(rand, cities) };
      return { key, value };
    });
    const latest = new Map<string, Profile>();
    for (const op of ops) {
      if (op.value === null) latest.delete(op.key);
      else latest.set(op.key, op.value);
    }
    const perCity = new Map<string, number>();
    for (const p of latest.values()) perCity.set(p.city, (perCity.get(p.city) ?? 0) + 1);

    const worker = await startWorker(
      brokerAddress,
      "profiles-app.ts",
      tempDir("rt-profiles-state"),
    );
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
  });
});
