import { describe, expect, it } from "vitest";
import { defineApp, Serdes } from "../src/index.js";
import { TopologyTestDriver } from "../src/testing/index.js";
import { pick, randomLine, seeded, str } from "./helpers.js";

// The reference computations below are written independently of the DSL: plain loops and
// Maps over the same generated input.

function splitWords(line: string): string[] {
  return line
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

const wordCount = defineApp({
  applicationId: "wordcount",
  topology: (b) => {
    b.stream<string | null, string>("text", { keySerde: str, valueSerde: str })
      .flatMapValues((line) => splitWords(line))
      .groupBy((_k, word) => word, { name: "words", keySerde: str, valueSerde: str })
      .count({ storeName: "counts" })
      .toStream()
      .to("word-counts", { keySerde: str, valueSerde: Serdes.msgpack<number | null>() });
  },
});

describe("word count", () => {
  it("emits every count update in order and ends with the reference counts over 5000 lines", () => {
    const rand = seeded(42);
    const lines = Array.from({ length: 5000 }, () => randomLine(rand));

    const expectedUpdates: [string, number][] = [];
    const expectedCounts = new Map<string, number>();
    for (const line of lines) {
      for (const w of line.toLowerCase().split(/[^a-z0-9]+/)) {
        if (w === "") continue;
        const n = (expectedCounts.get(w) ?? 0) + 1;
        expectedCounts.set(w, n);
        expectedUpdates.push([w, n]);
      }
    }

    const driver = new TopologyTestDriver(wordCount);
    const input = driver.createInputTopic<string | null, string>("text");
    const output = driver.createOutputTopic<string, number>("word-counts");
    let t = 1000;
    for (const line of lines) input.pipeInput(null, line, t++);

    expect(output.readKeyValuesToList()).toEqual(expectedUpdates);
    const store = driver.getKeyValueStore<string, number>("counts");
    expect(new Map(store.all())).toEqual(expectedCounts);
    expect(store.get("nonexistent")).toBeUndefined();
    // the words crossed the repartition topic, one record per word
    expect(driver.producedTopicNames()).toContain("wordcount-words-repartition");
    driver.close();
  });
});

interface Profile {
  name: string;
  city: string;
  age: number;
}

const CITIES = ["Oslo", "Lima", "Pune", "Kyiv", "Baku"];

const profiles = defineApp({
  applicationId: "profiles",
  topology: (b) => {
    const table = b.table<string, Profile>(
      "profiles",
      { keySerde: str, valueSerde: Serdes.json<Profile>() },
      { storeName: "profiles-store" },
    );
    table.toStream().to("profiles-latest");
    table
      .groupBy((_id, p) => [p.city, p] as const, { name: "by-city", keySerde: str })
      .count({ storeName: "city-counts", keySerde: str })
      .toStream()
      .to("city-counts-out");
  },
});

describe("KTable from a changelog-style topic", () => {
  it("keeps the latest value per key, tombstones delete, and regrouped counts follow (4000 updates)", () => {
    const rand = seeded(7);
    const keys = Array.from({ length: 150 }, (_, i) => `user-${i}`);
    type Op = { key: string; value: Profile | null };
    const ops: Op[] = Array.from({ length: 4000 }, (_, i) => {
      const key = pick(rand, keys);
      if (rand() < 0.2) return { key, value: null };
      return {
        key,
        value: { name: `n${i}`, city: pick(rand, CITIES), age: Math.floor(rand() * 90) },
      };
    });

    // reference: latest value per key, and the stream of real changes
    const latest = new Map<string, Profile>();
    const expectedChanges: [string, Profile | null][] = [];
    for (const op of ops) {
      if (op.value === null) {
        if (latest.delete(op.key)) expectedChanges.push([op.key, null]);
      } else {
        latest.set(op.key, op.value);
        expectedChanges.push([op.key, op.value]);
      }
    }
    const cityCounts = new Map<string, number>();
    for (const p of latest.values()) cityCounts.set(p.city, (cityCounts.get(p.city) ?? 0) + 1);

    const driver = new TopologyTestDriver(profiles);
    const input = driver.createInputTopic<string, Profile | null>("profiles");
    const out = driver.createOutputTopic<string, Profile | null>(
      "profiles-latest",
      str,
      Serdes.json(),
    );
    input.pipeRecordList(ops.map((op, i) => ({ key: op.key, value: op.value, timestamp: i })));

    expect(out.readKeyValuesToList()).toEqual(expectedChanges);
    const store = driver.getKeyValueStore<string, Profile>("profiles-store");
    expect(new Map(store.all())).toEqual(latest);
    expect(store.approximateNumEntries()).toBe(latest.size);

    const counts = driver.getKeyValueStore<string, number>("city-counts");
    for (const city of CITIES) {
      expect(counts.get(city) ?? 0, city).toBe(cityCounts.get(city) ?? 0);
    }
    // the last update per city on the output equals the store
    const finalOut = driver
      .createOutputTopic<string, number>("city-counts-out", str)
      .readKeyValuesToMap();
    for (const [city, n] of finalOut) expect(n).toBe(cityCounts.get(city) ?? 0);
    driver.close();
  });
});
