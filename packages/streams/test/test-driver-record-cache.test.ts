import { describe, expect, it } from "vitest";
import { defineApp, Serdes } from "../src/index.js";
import { TopologyTestDriver } from "../src/testing/index.js";
import { str } from "./helpers.js";

// The driver runs the worker's record cache (cacheMaxBytes): an aggregate goes downstream
// at commit, once per key with its latest value, as on a worker; and its changelog holds
// what a worker's would, so a restarted driver resumes from it.
const app = defineApp({
  applicationId: "cached",
  topology: (b) => {
    b.stream<string, string>("in", { keySerde: str, valueSerde: str })
      .groupByKey()
      .count({ storeName: "counts" })
      .toStream()
      .to("out", { keySerde: str, valueSerde: Serdes.msgpack<number | null>() });
  },
});

describe("the test driver's record cache", () => {
  it("forwards each key's latest count at commit, not every update", () => {
    const driver = new TopologyTestDriver(app, {
      partitions: 2,
      cacheMaxBytes: 1024 * 1024,
      commitIntervalMs: 1000,
    });
    const input = driver.createInputTopic<string, string>("in");
    const out = driver.createOutputTopic<string, number>("out");
    for (let i = 0; i < 100; i++) input.pipeInput(i % 3 === 0 ? "a" : "b", "x", i);
    expect(out.isEmpty()).toBe(true);
    expect(driver.getKeyValueStore<string, number>("counts").get("a")).toBe(34);
    driver.advanceWallClockTime(1000);
    expect(new Map(out.readKeyValuesToList())).toEqual(
      new Map([
        ["a", 34],
        ["b", 66],
      ]),
    );
    driver.close();
    const restarted = new TopologyTestDriver(app, { partitions: 2, restoreFrom: driver });
    restarted.createInputTopic<string, string>("in").pipeInput("a", "x", 200);
    expect(restarted.createOutputTopic<string, number>("out").readKeyValuesToList()).toEqual([
      ["a", 35],
    ]);
  });
});
