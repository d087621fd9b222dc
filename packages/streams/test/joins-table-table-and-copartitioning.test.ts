import { describe, expect, it } from "vitest";
import { defineApp, Serdes, TopologyError } from "../src/index.js";
import { TopologyTestDriver } from "../src/testing/index.js";
import { JoinWindows } from "../src/windows/join-windows.js";
import { untilWindowCloses } from "../src/windows/suppressed.js";
import { TimeWindows } from "../src/windows/time-windows.js";
import { pick, seeded, str } from "./helpers.js";

const num = Serdes.msgpack<number>();

describe("table-table joins", () => {
  const app = (type: "inner" | "left" | "outer") =>
    defineApp({
      applicationId: "tt",
      topology: (b) => {
        const left = b.table<string, number>(
          "left",
          { keySerde: str, valueSerde: num },
          { storeName: "l" },
        );
        const right = b.table<string, number>(
          "right",
          { keySerde: str, valueSerde: num },
          { storeName: "r" },
        );
        const joiner = (a: number | null, c: number | null) => `${a ?? "-"}/${c ?? "-"}`;
        const m = { storeName: "joined", valueSerde: str };
        const joined =
          type === "inner"
            ? left.join(right, joiner, m)
            : type === "left"
              ? left.leftJoin(right, joiner, m)
              : left.outerJoin(right, joiner, m);
        joined
          .toStream()
          .to("joined-out", { keySerde: str, valueSerde: Serdes.msgpack<string | null>() });
      },
    });

  for (const type of ["inner", "left", "outer"] as const) {
    it(`${type}: every update emits the key's joined value as the reference defines it, and the result store ends equal`, () => {
      const rand = seeded(type.length * 7);
      const driver = new TopologyTestDriver(app(type));
      const inputs = {
        left: driver.createInputTopic<string, number | null>("left"),
        right: driver.createInputTopic<string, number | null>("right"),
      };
      const out = driver.createOutputTopic<string, string | null>("joined-out");
      const tables = { left: new Map<string, number>(), right: new Map<string, number>() };
      const joinedOf = (k: string): string | null => {
        const a = tables.left.get(k) ?? null;
        const c = tables.right.get(k) ?? null;
        const exists =
          type === "inner"
            ? a !== null && c !== null
            : type === "left"
              ? a !== null
              : a !== null || c !== null;
        return exists ? `${a ?? "-"}/${c ?? "-"}` : null;
      };
      const expected: [string, string | null][] = [];
      const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
      for (let i = 0; i < 5000; i++) {
        const side = rand() < 0.5 ? "left" : "right";
        const k = pick(rand, keys);
        const before = joinedOf(k);
        const existed = tables[side].has(k);
        const v = rand() < 0.15 ? null : i;
        if (v === null) tables[side].delete(k);
        else tables[side].set(k, v);
        inputs[side].pipeInput(k, v, i);
        const after = joinedOf(k);
        // a tombstone for an absent key changes nothing and is not forwarded by the table
        if (v === null && !existed) continue;
        if (after !== null || before !== null) expected.push([k, after]);
      }
      expect(out.readKeyValuesToList()).toEqual(expected);
      const store = new Map(driver.getKeyValueStore<string, string>("joined").all());
      const want = new Map<string, string>();
      for (const k of keys) {
        const j = joinedOf(k);
        if (j !== null) want.set(k, j);
      }
      expect(store).toEqual(want);
      driver.close();
    });
  }
});

describe("co-partitioning and repartitioning before joins", () => {
  const joinApp = defineApp({
    applicationId: "cp",
    topology: (b) => {
      const orders = b.stream<string, string>("orders", { keySerde: str, valueSerde: str });
      const customers = b.table<string, string>(
        "customers",
        { keySerde: str, valueSerde: str },
        { storeName: "customers" },
      );
      orders.join(customers, (o, c) => `${o}:${c}`).to("out", { keySerde: str, valueSerde: str });
    },
  });

  it("refuses at compile time inputs with different partition counts, naming the topics and counts", () => {
    expect(() => joinApp.build({ partitionsOf: (t) => ({ orders: 4, customers: 3 })[t] })).toThrow(
      TopologyError,
    );
    expect(() => joinApp.build({ partitionsOf: (t) => ({ orders: 4, customers: 3 })[t] })).toThrow(
      /join 'KSTREAM-JOIN-0000000003' needs co-partitioned inputs.*orders \(4\), customers \(3\)/,
    );
    expect(
      () => new TopologyTestDriver(joinApp, { topicPartitions: { orders: 2, customers: 5 } }),
    ).toThrow(/orders \(2\), customers \(5\)/);
    expect(() => joinApp.build({ partitionsOf: () => 6 })).not.toThrow();
  });

  it("checks a stream-stream join, giving its repartition topic the other side's count", () => {
    const app = defineApp({
      applicationId: "ss",
      topology: (b) => {
        const a = b.stream<string, string>("a", { keySerde: str, valueSerde: str });
        const c = b
          .stream<string, string>("c", { keySerde: str, valueSerde: str })
          .selectKey((_k, v) => v);
        a.join(c, (x, y) => x + y, JoinWindows.ofTimeDifferenceWithNoGrace(1000), {
          name: "ac",
        }).to("out");
      },
    });
    const topology = app.build();
    expect(topology.internalTopics.map((t) => t.name)).toContain("ss-ac-right-repartition");
    expect(topology.internalTopics.map((t) => t.name)).not.toContain("ss-ac-left-repartition");
    expect(topology.coPartitionGroups).toEqual([
      { join: "ac", topics: ["a", "ss-ac-right-repartition"] },
    ]);
    const decided = topology.checkCoPartitioning((t) => ({ a: 7, c: 2 })[t]);
    expect(decided.get("ss-ac-right-repartition")).toBe(7);
  });

  it("repartitions a re-keyed stream before the join, and joins on the new key", () => {
    const app = defineApp({
      applicationId: "rk",
      topology: (b) => {
        const customers = b.table<string, string>(
          "customers",
          { keySerde: str, valueSerde: str },
          { storeName: "customers" },
        );
        b.stream<string, string>("orders", { keySerde: str, valueSerde: str })
          .map((orderId, customer) => [customer, orderId] as const)
          .join(customers, (orderId, name) => `${orderId}->${name}`, {
            name: "enrich",
            keySerde: str,
            valueSerde: str,
          })
          .to("out", { keySerde: str, valueSerde: str });
      },
    });
    const topology = app.build();
    expect(topology.subtopologies).toHaveLength(2);
    expect(topology.subtopologies.map((s) => [...s.sourceTopics].sort())).toContainEqual([
      "customers",
      "rk-enrich-repartition",
    ]);
    const driver = new TopologyTestDriver(app);
    driver.createInputTopic<string, string>("customers").pipeInput("c1", "Ada");
    driver.createInputTopic<string, string>("orders").pipeInput("o1", "c1");
    expect(driver.createOutputTopic<string, string>("out").readKeyValuesToList()).toEqual([
      ["c1", "o1->Ada"],
    ]);
    expect(driver.producedTopicNames()).toContain("rk-enrich-repartition");
    driver.close();
  });

  it("describe() shows the windows, the joins and their stores", () => {
    const app = defineApp({
      applicationId: "d",
      topology: (b) => {
        const views = b.stream<string, string>("views", { keySerde: str, valueSerde: str });
        views
          .groupByKey()
          .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 10_000).advanceBy(20_000))
          .count({ storeName: "per-minute" })
          .suppress(untilWindowCloses({ name: "final" }))
          .toStream()
          .to("counts");
        const clicks = b.stream<string, string>("clicks", { keySerde: str, valueSerde: str });
        views
          .outerJoin(
            clicks,
            (v, c) => `${v}${c}`,
            JoinWindows.ofTimeDifferenceWithNoGrace(300_000),
            { name: "vc" },
          )
          .to("vc-out");
      },
    });
    const d = app.describe();
    const text = d.toString();
    expect(text).toContain(
      "~~~ windowed aggregation, TimeWindows(hopping, size=60000ms, advance=20000ms, grace=10000ms)",
    );
    expect(text).toContain("~~~ suppress until window closes");
    expect(text).toContain(
      "~~~ outer stream-stream join, JoinWindows(before=300000ms, after=300000ms, grace=0ms)",
    );
    expect(text).toContain(
      "window store per-minute (retention: 70000ms, changelog: d-per-minute-changelog)",
    );
    expect(text).toContain("window store vc-left-store");
    expect(text).toContain("Co-partitioned joins:\n    vc: [views, clicks]");
    expect(d.stores.find((s) => s.name === "final-store")?.changelogTopic).toBe(
      "d-final-store-changelog",
    );
    expect(d.stores.find((s) => s.name === "vc-pending-store")).toBeDefined();
  });

  it("refuses to join a table that has no store, saying how to materialize it", () => {
    const app = defineApp({
      applicationId: "nm",
      topology: (b) => {
        const t = b
          .table<string, string>("t", { keySerde: str, valueSerde: str })
          .mapValues((v) => v);
        b.stream<string, string>("s", { keySerde: str, valueSerde: str })
          .join(t, (a, c) => a + c)
          .to("o");
      },
    });
    expect(() => app.build()).toThrow(/not materialized: pass Materialized/);
  });
});
