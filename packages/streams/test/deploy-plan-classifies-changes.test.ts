import { describe, expect, it } from "vitest";
import {
  type DeployedTopology,
  type StreamsBuilder,
  Serdes,
  TimeWindows,
  defineApp,
  deployedTopology,
  formatPlan,
  planDeploy,
} from "../src/index.js";

/** The record as the log keeps it (JSON), for the version that is running. */
function deployed(topology: (b: StreamsBuilder) => void): DeployedTopology {
  const record = deployedTopology(defineApp({ applicationId: "wc", topology }).build(), 1_000);
  return JSON.parse(JSON.stringify(record)) as DeployedTopology;
}

function plan(running: (b: StreamsBuilder) => void, next: (b: StreamsBuilder) => void) {
  return planDeploy(deployed(running), deployed(next));
}

function subjects(p: ReturnType<typeof planDeploy>, verdict: string): string[] {
  return p.changes.filter((c) => c.verdict === verdict).map((c) => c.subject);
}

const words = (b: StreamsBuilder) =>
  b.stream<string, string>("lines").flatMapValues((l) => l.split(" "));

describe("tributary plan's classification of a new topology against the deployed one", () => {
  it("finds nothing to say about the same topology, and a first deploy compatible", () => {
    const v1 = (b: StreamsBuilder) => {
      words(b)
        .groupBy((_k, w) => w)
        .count()
        .toStream()
        .to("counts");
    };
    const same = plan(v1, v1);
    expect(same.changes).toEqual([]);
    expect(same.verdict).toBe("compatible");
    const first = planDeploy(null, deployed(v1));
    expect(first.runningSince).toBeNull();
    expect(first.verdict).toBe("compatible");
    expect(formatPlan(first)).toContain("first deploy");
  });

  it("calls an operator added before a generated store name incompatible: the store and its repartition topic are renamed, and says to name them", () => {
    const v1 = (b: StreamsBuilder) => {
      words(b)
        .groupBy((_k, w) => w)
        .count()
        .toStream()
        .to("counts");
    };
    const v2 = (b: StreamsBuilder) => {
      words(b)
        .filter((_k, w) => w.length > 0)
        .groupBy((_k, w) => w)
        .count()
        .toStream()
        .to("counts");
    };
    const p = plan(v1, v2);
    expect(p.verdict).toBe("incompatible");
    const store = p.changes.find((c) =>
      c.subject.startsWith("store KSTREAM-AGGREGATE-STATE-STORE-"),
    );
    expect(store?.verdict).toBe("incompatible");
    expect(store?.what).toMatch(
      /is renamed KSTREAM-AGGREGATE-STATE-STORE-\d{10}.*would be orphaned/,
    );
    expect(store?.what).toContain("wc-KSTREAM-AGGREGATE-STATE-STORE-");
    expect(store?.todo).toContain("name the store");
    const repartition = p.changes.find((c) => c.subject.startsWith("repartition topic"));
    expect(repartition?.verdict).toBe("incompatible");
    expect(repartition?.what).toContain("not yet read would be orphaned");
  });

  it("calls the same change compatible once the store and grouping are named", () => {
    const v1 = (b: StreamsBuilder) => {
      words(b)
        .groupBy((_k, w) => w, { name: "by-word" })
        .count({ storeName: "counts" })
        .toStream()
        .to("counts");
    };
    const v2 = (b: StreamsBuilder) => {
      words(b)
        .filter((_k, w) => w.length > 0)
        .groupBy((_k, w) => w, { name: "by-word" })
        .count({ storeName: "counts" })
        .toStream()
        .to("counts");
    };
    const p = plan(v1, v2);
    expect(p.verdict).toBe("compatible");
    expect(p.changes.map((c) => c.subject)).toEqual(["the processors"]);
  });

  it("calls a new value format or a new window size a state migration, naming the store and the formats", () => {
    const count = (serde: "msgpack" | "json") => (b: StreamsBuilder) => {
      words(b)
        .groupBy((_k, w) => w, { name: "by-word" })
        .count({
          storeName: "counts",
          ...(serde === "json" ? { valueSerde: Serdes.json<number>() } : {}),
        })
        .toStream()
        .to("counts");
    };
    const serdes = plan(count("msgpack"), count("json"));
    expect(serdes.verdict).toBe("migration");
    expect(serdes.changes.find((c) => c.subject === "store counts")?.what).toBe(
      "values change format from MessagePack to JSON: every value already stored would fail to decode",
    );
    const windowed = (sizeMs: number) => (b: StreamsBuilder) => {
      words(b)
        .groupBy((_k, w) => w, { name: "by-word" })
        .windowedBy(TimeWindows.ofSizeWithNoGrace(sizeMs))
        .count({ storeName: "per-minute" })
        .toStream()
        .to("counts");
    };
    const windows = plan(windowed(60_000), windowed(300_000));
    expect(windows.verdict).toBe("migration");
    const change = windows.changes.find((c) => c.subject === "store per-minute");
    expect(change?.what).toMatch(/windowing changes from .*size=60000ms.* to .*size=300000ms/);
    expect(change?.todo).toContain("tributary reset wc --to-earliest");
    expect(formatPlan(windows)).toContain("needs a state migration");
  });

  it("calls another kind of store under the same name incompatible, and a new or dropped store compatible", () => {
    const keyValue = (b: StreamsBuilder) => {
      words(b)
        .groupBy((_k, w) => w, { name: "by-word" })
        .count({ storeName: "counts" })
        .toStream()
        .to("counts");
    };
    const windowed = (b: StreamsBuilder) => {
      words(b)
        .groupBy((_k, w) => w, { name: "by-word" })
        .windowedBy(TimeWindows.ofSizeWithNoGrace(60_000))
        .count({ storeName: "counts" })
        .toStream()
        .to("counts");
    };
    const kind = plan(keyValue, windowed);
    expect(kind.verdict).toBe("incompatible");
    expect(kind.changes.find((c) => c.subject === "store counts")?.what).toContain(
      "changes from a key-value store to a window store",
    );

    const stateless = (b: StreamsBuilder) => {
      words(b).to("words");
    };
    const added = plan(stateless, keyValue);
    expect(added.verdict).toBe("compatible");
    expect(subjects(added, "compatible")).toEqual(
      expect.arrayContaining([
        "store counts",
        "repartition topic wc-by-word-repartition",
        "output topic counts",
      ]),
    );
    const dropped = plan(keyValue, stateless);
    expect(dropped.verdict).toBe("compatible");
    const gone = dropped.changes.find((c) => c.subject === "store counts");
    expect(gone?.what).toContain("its changelog wc-counts-changelog stays behind");
    expect(gone?.todo).toBe("once sure, delete it: tributary topics delete wc-counts-changelog");
  });
});
