import { describe, expect, it } from "vitest";
import {
  defineApp,
  type NodeDescription,
  type StreamsBuilder,
  TopologyError,
} from "../src/index.js";
import { str } from "./helpers.js";

function nodes(app: ReturnType<typeof defineApp>): NodeDescription[] {
  return app.describe().subtopologies.flatMap((s) => s.nodes);
}

function repartitionTopics(app: ReturnType<typeof defineApp>): string[] {
  return app
    .build()
    .internalTopics.filter((t) => t.purpose === "repartition")
    .map((t) => t.name);
}

describe("topology compiler", () => {
  it("inserts a repartition topic after a key change that feeds an aggregation, splitting two sub-topologies", () => {
    const app = defineApp({
      applicationId: "app",
      topology: (b) => {
        b.stream("in")
          .selectKey((_k, v) => v)
          .mapValues((v) => v)
          .groupByKey()
          .count()
          .toStream()
          .to("out");
      },
    });
    const topology = app.build();
    expect(repartitionTopics(app)).toEqual([
      "app-KSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition",
    ]);
    expect(topology.subtopologies).toHaveLength(2);
    const [first, second] = topology.subtopologies;
    expect(first!.sourceTopics).toEqual(["in"]);
    expect(first!.sinkTopics).toEqual(["app-KSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition"]);
    expect(second!.sourceTopics).toEqual([
      "app-KSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition",
    ]);
    expect(second!.sinkTopics).toEqual(["out"]);
    expect(second!.stores.map((s) => s.name)).toEqual(["KSTREAM-AGGREGATE-STATE-STORE-0000000004"]);
    expect(topology.taskIds(() => 3)).toEqual(["0_0", "0_1", "0_2", "1_0", "1_1", "1_2"]);
  });

  it("does not repartition when only key-preserving operations precede the aggregation", () => {
    const app = defineApp({
      applicationId: "app",
      topology: (b) => {
        b.stream("in")
          .mapValues((v) => v)
          .filter(() => true)
          .peek(() => {})
          .flatMapValues((v) => [v])
          .groupByKey()
          .count({ storeName: "c" });
      },
    });
    expect(repartitionTopics(app)).toEqual([]);
    expect(app.build().subtopologies).toHaveLength(1);
  });

  it("does not repartition a key change that only feeds a sink, and resets after an explicit repartition()", () => {
    const app = defineApp({
      applicationId: "app",
      topology: (b) => {
        const s = b.stream("in").map((k, v) => [v, k] as const);
        s.to("rekeyed");
        s.repartition({ name: "by-value" }).groupByKey().count({ storeName: "after-explicit" });
      },
    });
    expect(repartitionTopics(app)).toEqual(["app-by-value-repartition"]);
    expect(app.build().subtopologies).toHaveLength(2);
  });

  it("names the repartition topic after Grouped, and KTable.groupBy always repartitions with a Change payload", () => {
    const app = defineApp({
      applicationId: "shop",
      topology: (b) => {
        b.stream("orders")
          .groupBy((_k, v) => v, { name: "by-item" })
          .count({ storeName: "items" });
        b.table("users")
          .groupBy((k, v) => [v, k] as const)
          .count({ storeName: "per-city" });
      },
    });
    const topics = repartitionTopics(app);
    expect(topics).toEqual(["shop-by-item-repartition", "shop-per-city-repartition"]);
    const changelogs = app
      .build()
      .internalTopics.filter((t) => t.purpose === "changelog")
      .map((t) => t.name);
    expect(changelogs).toHaveLength(3);
    expect(changelogs).toContain("shop-items-changelog");
    expect(changelogs).toContain("shop-per-city-changelog");
    // the table's store is generated: source 0, select 1, aggregate 2, source 3, store 4
    expect(changelogs).toContain("shop-users-STATE-STORE-0000000004-changelog");
  });

  it("names everything the same across two builds", () => {
    const topology = (b: StreamsBuilder) => {
      const words = b
        .stream<string, string>("text", { keySerde: str, valueSerde: str })
        .flatMap((_k, v) => v.split(" ").map((w) => [w, w] as const));
      const [a, rest] = [
        ...words
          .split()
          .branch((k) => k.startsWith("a"))
          .defaultBranch()
          .values(),
      ];
      a!
        .merge(rest!)
        .groupByKey()
        .reduce((x, y) => x + y)
        .toStream()
        .to("out");
    };
    const one = defineApp({ applicationId: "det", topology }).describe();
    const two = defineApp({ applicationId: "det", topology }).describe();
    expect(one.toString()).toEqual(two.toString());
    expect(one.toMermaid()).toEqual(two.toMermaid());
    expect(one.subtopologies.flatMap((s) => s.nodes.map((n) => n.name))).toEqual(
      two.subtopologies.flatMap((s) => s.nodes.map((n) => n.name)),
    );
  });

  it("describes sources, processors, sinks and stores with their links", () => {
    const app = defineApp({
      applicationId: "wc",
      topology: (b) => {
        b.stream("text")
          .flatMapValues((v) => String(v).split(" "))
          .groupBy((_k, w) => w, { name: "words" })
          .count({ storeName: "counts" })
          .toStream()
          .to("word-counts");
      },
    });
    const d = app.describe();
    expect(d.subtopologies.map((s) => s.id)).toEqual([0, 1]);
    const all = nodes(app);
    const source = all.find((n) => n.type === "source" && n.topics.includes("text"));
    expect(source).toBeDefined();
    const sinks = all.filter((n) => n.type === "sink");
    expect(sinks.map((n) => (n.type === "sink" ? n.topic : ""))).toEqual([
      "wc-words-repartition",
      "word-counts",
    ]);
    const withStore = all.filter((n) => n.type === "processor" && n.stores.includes("counts"));
    expect(withStore).toHaveLength(1);
    // every successor link has the matching predecessor link
    for (const n of all) {
      if (n.type === "sink") continue;
      for (const succ of n.successors) {
        const child = all.find((c) => c.name === succ)!;
        expect(child.type === "source" ? [] : child.predecessors).toContain(n.name);
      }
    }
    const text = d.toString();
    expect(text).toMatch(
      /Sub-topology: 0[\s\S]*Source: \S+ \(topics: \[text\]\)[\s\S]*Sink: words-repartition-sink \(topic: wc-words-repartition\)/,
    );
    expect(text).toMatch(
      /Sub-topology: 1[\s\S]*Source: words-repartition-source \(topics: \[wc-words-repartition\]\)/,
    );
    expect(text).toMatch(/Processor: KSTREAM-AGGREGATE-\d{10} \(stores: \[counts\]\)/);
    // how event time flows: stream time upstream, watermarks across the repartition topic
    expect(d.subtopologies.map((s) => s.eventTime)).toEqual([
      "stream time: the largest record time of its input partitions; publishes its watermark to wc-words-repartition",
      "min of the watermarks of every task of sub-topology 0 via wc-words-repartition (idle inputs left out)",
    ]);
    expect(text).toContain("    Event time: min of the watermarks of every task of sub-topology 0");
    expect(text).toContain("Sink: KSTREAM-SINK-");
    expect(text).toContain("(topic: word-counts)");
    expect(d.stores).toEqual([
      { name: "counts", changelogTopic: "wc-counts-changelog", subtopology: 1 },
    ]);
    const mermaid = d.toMermaid();
    expect(mermaid.startsWith("flowchart TD")).toBe(true);
    expect(mermaid).toContain('subgraph sub0["Sub-topology 0"]');
    expect(mermaid).toContain('[/"wc-words-repartition"/]');
    expect(mermaid).toContain('[("counts")]');
  });

  it("rejects a topology that reads one topic twice, with a message that says what to do", () => {
    const app = defineApp({
      applicationId: "bad",
      topology: (b) => {
        b.stream("in").to("a");
        b.stream("in").to("b");
      },
    });
    expect(() => app.build()).toThrow(TopologyError);
    expect(() => app.build()).toThrow(/read by two sources.*share the KStream/);
  });

  it("rejects illegal names before they reach a topic name", () => {
    expect(() => defineApp({ applicationId: "no spaces", topology: () => {} })).toThrow(
      /applicationId/,
    );
    const app = defineApp({
      applicationId: "ok",
      topology: (b) => {
        b.stream("in").groupByKey().count({ storeName: "../escape" });
      },
    });
    expect(() => app.build()).toThrow(/store name '..\/escape'/);
  });
});
