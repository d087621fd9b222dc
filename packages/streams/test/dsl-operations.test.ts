import { describe, expect, it } from "vitest";
import { defineApp, type KStream, Serdes, type StreamsBuilder } from "../src/index.js";
import { TopologyTestDriver } from "../src/testing/index.js";
import { str } from "./helpers.js";

const num = Serdes.msgpack<number>();

/** Runs `build(stream)` over a string->number input and returns what reached "out". */
function run<K, V>(
  build: (s: KStream<string, number>, b: StreamsBuilder) => KStream<K, V>,
  input: [string, number][],
): [K, V][] {
  const app = defineApp({
    applicationId: "ops",
    topology: (b) => {
      build(b.stream<string, number>("in", { keySerde: str, valueSerde: num }), b).to("out");
    },
  });
  const driver = new TopologyTestDriver(app);
  const topic = driver.createInputTopic<string, number>("in");
  input.forEach(([k, v], i) => {
    topic.pipeInput(k, v, i);
  });
  const out = driver.createOutputTopic<K, V>("out").readKeyValuesToList() as [K, V][];
  driver.close();
  return out;
}

const INPUT: [string, number][] = [
  ["a", 1],
  ["b", 2],
  ["a", 3],
  ["c", 4],
  ["b", 5],
];

describe("KStream operations", () => {
  it("map changes key and value", () => {
    expect(run((s) => s.map((k, v) => [`${k}${v}`, v * 10] as const), INPUT)).toEqual([
      ["a1", 10],
      ["b2", 20],
      ["a3", 30],
      ["c4", 40],
      ["b5", 50],
    ]);
  });

  it("mapValues keeps the key; selectKey keeps the value", () => {
    expect(run((s) => s.mapValues((v, k) => `${k}:${v}`), INPUT.slice(0, 2))).toEqual([
      ["a", "a:1"],
      ["b", "b:2"],
    ]);
    expect(run((s) => s.selectKey((_k, v) => v % 2), INPUT.slice(0, 3))).toEqual([
      [1, 1],
      [0, 2],
      [1, 3],
    ]);
  });

  it("filter keeps what passes and filterNot what fails", () => {
    expect(run((s) => s.filter((_k, v) => v % 2 === 1), INPUT)).toEqual([
      ["a", 1],
      ["a", 3],
      ["b", 5],
    ]);
    expect(run((s) => s.filterNot((_k, v) => v % 2 === 1), INPUT)).toEqual([
      ["b", 2],
      ["c", 4],
    ]);
  });

  it("flatMap and flatMapValues emit zero or more records each", () => {
    expect(
      run(
        (s) =>
          s.flatMap((k, v) => Array.from({ length: v % 3 }, (_, i) => [`${k}${i}`, v] as const)),
        INPUT,
      ),
    ).toEqual([
      ["a0", 1],
      ["b0", 2],
      ["b1", 2],
      ["c0", 4],
      ["b0", 5],
      ["b1", 5],
    ]);
    expect(run((s) => s.flatMapValues((v) => (v > 3 ? [v, -v] : [])), INPUT)).toEqual([
      ["c", 4],
      ["c", -4],
      ["b", 5],
      ["b", -5],
    ]);
  });

  it("peek sees every record and passes it on unchanged", () => {
    const seen: string[] = [];
    expect(run((s) => s.peek((k, v) => seen.push(`${k}${v}`)), INPUT)).toEqual(INPUT);
    expect(seen).toEqual(["a1", "b2", "a3", "c4", "b5"]);
  });

  it("merge interleaves two streams in processing order", () => {
    const out = run((s) => {
      const odd = s.filter((_k, v) => v % 2 === 1).mapValues((v) => v * 100);
      const even = s.filter((_k, v) => v % 2 === 0);
      return odd.merge(even);
    }, INPUT);
    expect(out).toEqual([
      ["a", 100],
      ["b", 2],
      ["a", 300],
      ["c", 4],
      ["b", 500],
    ]);
  });

  it("split sends each record to the first matching branch, else the default, named by prefix", () => {
    const app = defineApp({
      applicationId: "split",
      topology: (b) => {
        const branches = b
          .stream<string, number>("in", { keySerde: str, valueSerde: num })
          .split({ name: "n-" })
          .branch((_k, v) => v < 2, { name: "small" })
          .branch((_k, v) => v < 4, { name: "medium" })
          .branch((_k, v) => v === 3, { name: "never", chain: (s) => s.mapValues((v) => v) })
          .defaultBranch({ name: "large" });
        expect([...branches.keys()]).toEqual(["n-small", "n-medium", "n-never", "n-large"]);
        branches.get("n-small")!.to("small");
        branches.get("n-medium")!.to("medium");
        branches.get("n-never")!.to("never");
        branches.get("n-large")!.to("large");
      },
    });
    const driver = new TopologyTestDriver(app);
    const input = driver.createInputTopic<string, number>("in");
    for (const [k, v] of INPUT) input.pipeInput(k, v);
    const read = (t: string) => driver.createOutputTopic(t).readValuesToList();
    expect(read("small")).toEqual([1]);
    expect(read("medium")).toEqual([2, 3]);
    expect(read("never")).toEqual([]);
    expect(read("large")).toEqual([4, 5]);
  });

  it("groupBy + reduce and aggregate fold values per new key, emitting every update", () => {
    expect(
      run(
        (s) =>
          s
            .groupBy((k) => k.toUpperCase(), { keySerde: str })
            .reduce((a, v) => a + v)
            .toStream(),
        INPUT,
      ),
    ).toEqual([
      ["A", 1],
      ["B", 2],
      ["A", 4],
      ["C", 4],
      ["B", 7],
    ]);
    expect(
      run(
        (s) =>
          s
            .groupByKey()
            .aggregate(
              () => [] as number[],
              (_k, v, agg) => [...agg, v],
            )
            .toStream(),
        INPUT,
      ),
    ).toEqual([
      ["a", [1]],
      ["b", [2]],
      ["a", [1, 3]],
      ["c", [4]],
      ["b", [2, 5]],
    ]);
  });

  it("count skips null keys and null values", () => {
    const app = defineApp({
      applicationId: "count",
      topology: (b) => {
        b.stream<string | null, number | null>("in", { keySerde: str })
          .groupByKey()
          .count({ storeName: "n" })
          .toStream()
          .to("out", { keySerde: str });
      },
    });
    const driver = new TopologyTestDriver(app);
    const input = driver.createInputTopic<string | null, number | null>("in");
    input.pipeInput("a", 1);
    input.pipeInput(null, 2);
    input.pipeInput("a", null);
    input.pipeInput("b", 3);
    input.pipeInput("a", 4);
    expect(driver.createOutputTopic("out").readKeyValuesToList()).toEqual([
      ["a", 1],
      ["b", 1],
      ["a", 2],
    ]);
    expect(driver.getKeyValueStore<string, number>("n").get("a")).toBe(2);
  });

  it("keeps timestamps and headers through stateless operations; a timestamp extractor sets event time", () => {
    const app = defineApp({
      applicationId: "ts",
      topology: (b) => {
        b.stream<string, { at: number }>("in", {
          keySerde: str,
          valueSerde: Serdes.json(),
          timestampExtractor: (r) => r.value.at,
        })
          .mapValues((v) => v.at)
          .to("out", { valueSerde: num });
      },
    });
    const driver = new TopologyTestDriver(app);
    driver
      .createInputTopic<string, { at: number }>("in")
      .pipeInput("k", { at: 5000 }, 1, { trace: "t1" });
    const r = driver.createOutputTopic<string, number>("out").readRecord();
    expect(r.timestamp).toBe(5000);
    expect(r.value).toBe(5000);
    expect(r.headers.trace?.toString()).toBe("t1");
  });
});

describe("KTable operations", () => {
  const tableApp = defineApp({
    applicationId: "tables",
    topology: (b) => {
      const t = b.table<string, number>(
        "t",
        { keySerde: str, valueSerde: num },
        { storeName: "t-store" },
      );
      t.mapValues((v) => v * 2, { storeName: "doubled", valueSerde: num })
        .toStream()
        .to("doubled-out", { valueSerde: num });
      t.filter((_k, v) => v > 10, { storeName: "big" })
        .toStream()
        .to("big-out", { valueSerde: num });
      t.filterNot((_k, v) => v > 10)
        .toStream()
        .to("small-out", { valueSerde: num });
    },
  });

  it("mapValues maps updates and passes tombstones as deletions", () => {
    const driver = new TopologyTestDriver(tableApp);
    const input = driver.createInputTopic<string, number | null>("t");
    input.pipeInput("x", 1);
    input.pipeInput("y", 20);
    input.pipeInput("x", null);
    input.pipeInput("x", null); // unknown key now: no change, nothing emitted
    const out = driver
      .createOutputTopic<string, number | null>("doubled-out", str, num)
      .readKeyValuesToList();
    expect(out).toEqual([
      ["x", 2],
      ["y", 40],
      ["x", null],
    ]);
    const doubled = driver.getKeyValueStore<string, number>("doubled");
    expect(doubled.get("x")).toBeUndefined();
    expect(doubled.get("y")).toBe(40);
  });

  it("filter turns a value that stops passing into a tombstone and emits nothing for rows never in it", () => {
    const driver = new TopologyTestDriver(tableApp);
    const input = driver.createInputTopic<string, number | null>("t");
    input.pipeInput("x", 5); // never in big
    input.pipeInput("x", 50); // enters big
    input.pipeInput("x", 7); // leaves big
    input.pipeInput("y", 60);
    input.pipeInput("y", null); // deleted from big
    const big = driver
      .createOutputTopic<string, number | null>("big-out", str, num)
      .readKeyValuesToList();
    expect(big).toEqual([
      ["x", 50],
      ["x", null],
      ["y", 60],
      ["y", null],
    ]);
    const small = driver
      .createOutputTopic<string, number | null>("small-out", str, num)
      .readKeyValuesToList();
    expect(small).toEqual([
      ["x", 5],
      ["x", null],
      ["x", 7],
    ]);
    expect([...driver.getKeyValueStore<string, number>("big").all()]).toEqual([]);
  });

  it("groupBy with adder and subtractor moves a row's contribution when its group changes", () => {
    const app = defineApp({
      applicationId: "regroup",
      topology: (b) => {
        b.table<string, { team: string; score: number }>("players", {
          keySerde: str,
          valueSerde: Serdes.json(),
        })
          .groupBy((_id, p) => [p.team, p.score] as const, { keySerde: str, valueSerde: num })
          .aggregate(
            () => 0,
            (_team, score, total) => total + score,
            (_team, score, total) => total - score,
            { storeName: "team-scores", keySerde: str, valueSerde: num },
          );
        b.table<string, { team: string; score: number }>("players2", {
          keySerde: str,
          valueSerde: Serdes.json(),
        })
          .groupBy((_id, p) => [p.team, p.score] as const, { keySerde: str, valueSerde: num })
          .reduce(
            (a, v) => a + v,
            (a, v) => a - v,
            { storeName: "team-reduce", keySerde: str, valueSerde: num },
          );
      },
    });
    const driver = new TopologyTestDriver(app);
    for (const topic of ["players", "players2"]) {
      const input = driver.createInputTopic<string, { team: string; score: number } | null>(topic);
      input.pipeInput("p1", { team: "red", score: 10 });
      input.pipeInput("p2", { team: "red", score: 5 });
      input.pipeInput("p3", { team: "blue", score: 7 });
      input.pipeInput("p1", { team: "blue", score: 12 }); // moves from red to blue
      input.pipeInput("p2", { team: "red", score: 6 }); // same group, new score
      input.pipeInput("p3", null); // leaves blue
    }
    for (const name of ["team-scores", "team-reduce"]) {
      const store = driver.getKeyValueStore<string, number>(name);
      expect(store.get("red"), name).toBe(6);
      expect(store.get("blue"), name).toBe(12);
    }
  });
});
