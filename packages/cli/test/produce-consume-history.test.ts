import { afterEach, describe, expect, it } from "vitest";
import { cleanup, cli, eventually, jsonLines, spawnCli, startBroker, tempDir } from "./helpers.js";

afterEach(cleanup);

interface Line {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: unknown;
  value: unknown;
  headers?: Record<string, string>;
}

// A history with event times an hour apart, keys spread over partitions.
function history(n: number, t0 = Date.parse("2024-05-01T00:00:00Z")) {
  return Array.from({ length: n }, (_, i) => ({
    key: `user-${i % 7}`,
    value: { page: `/p/${i}`, n: i },
    timestamp: t0 + i * 3_600_000,
    ...(i % 5 === 0 ? { headers: { source: "replay" } } : {}),
  }));
}

describe("produce and consume", () => {
  it("replays a JSON-lines history with its event times and reads it back as JSON lines", () => {
    const data = tempDir();
    cli(["topics", "create", "views", "--partitions", "3", "--data", data]);
    const events = history(60);
    const input = events.map((e) => JSON.stringify(e)).join("\n");
    cli(["produce", "views", "--format", "json", "--value-serde", "msgpack", "--data", data], {
      input,
    });

    const back = jsonLines<Line>(
      cli(["consume", "views", "--format", "json", "--value-serde", "msgpack", "--data", data]),
    );
    expect(back).toHaveLength(events.length);
    // Per partition, offsets are gapless from 0 and records keep the order they were sent in.
    for (let p = 0; p < 3; p++) {
      const mine = back.filter((l) => l.partition === p);
      expect(mine.map((l) => l.offset)).toEqual(mine.map((_, i) => i));
      const ns = mine.map((l) => (l.value as { n: number }).n);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
    }
    const byN = new Map(back.map((l) => [(l.value as { n: number }).n, l]));
    for (const [i, e] of events.entries()) {
      const l = byN.get(i)!;
      expect(l).toMatchObject({
        topic: "views",
        key: e.key,
        value: e.value,
        timestamp: e.timestamp,
      });
      expect(l.headers).toEqual(e.headers);
    }
    // Equal keys share a partition (murmur2), so a per-key history stays in order.
    const partitionOf = new Map<unknown, number>();
    for (const l of back) {
      expect(partitionOf.get(l.key) ?? l.partition).toBe(l.partition);
      partitionOf.set(l.key, l.partition);
    }

    // The exported lines replay into another topic as the same history.
    cli(["topics", "create", "views-copy", "--partitions", "3", "--data", data]);
    cli(["produce", "views-copy", "--format", "json", "--value-serde", "msgpack", "--data", data], {
      input: back.map((l) => JSON.stringify(l)).join("\n"),
    });
    const copy = jsonLines<Line>(
      cli([
        "consume",
        "views-copy",
        "--format",
        "json",
        "--value-serde",
        "msgpack",
        "--data",
        data,
      ]),
    );
    const strip = (ls: Line[]) =>
      ls
        .map(({ topic: _t, ...rest }) => rest)
        .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    expect(strip(copy)).toEqual(strip(back));
  });

  it("starts at a time or an offset, and reads key<TAB>value text both ways", () => {
    const data = tempDir();
    cli(["topics", "create", "t", "--data", data]);
    const events = history(10);
    cli(["produce", "t", "--format", "json", "--data", data], {
      input: events.map((e) => JSON.stringify({ ...e, value: `v${e.value.n}` })).join("\n"),
    });
    const fromTime = jsonLines<Line>(
      cli([
        "consume",
        "t",
        "--format",
        "json",
        "--from-time",
        new Date(events[6]!.timestamp).toISOString(),
        "--data",
        data,
      ]),
    );
    expect(fromTime.map((l) => l.value)).toEqual(["v6", "v7", "v8", "v9"]);
    const fromOffset = cli([
      "consume",
      "t",
      "--partition",
      "0",
      "--offset",
      "8",
      "--print-key",
      "--data",
      data,
    ]);
    expect(fromOffset).toBe("user-1\tv8\nuser-2\tv9\n");

    cli(["produce", "t", "--parse-key", "--data", data], { input: "k1\tone\nk2\ttwo\n" });
    expect(cli(["consume", "t", "--offset", "10", "--print-key", "--data", data])).toBe(
      "k1\tone\nk2\ttwo\n",
    );
    expect(cli(["consume", "t", "--max-messages", "2", "--data", data])).toBe("v0\nv1\n");
  });

  it("uses the broker serving the data dir by itself, and --broker explicitly", async () => {
    const data = tempDir();
    const broker = await startBroker(data);
    // The dir is locked by the broker: these only work because they go through it.
    cli(["topics", "create", "b", "--partitions", "2", "--data", data]);
    cli(["produce", "b", "--data", data], { input: "x\ny\nz\n" });
    expect(cli(["topics", "list", "--data", data])).toBe("b\n");
    const values = cli(["consume", "b", "--broker", broker.address]).split("\n").filter(Boolean);
    expect(values.sort()).toEqual(["x", "y", "z"]);
  });

  it("--follow prints records as they arrive, in a group that commits them, until SIGINT", async () => {
    const data = tempDir();
    await startBroker(data);
    cli(["topics", "create", "live", "--partitions", "2", "--data", data]);
    cli(["produce", "live", "--data", data], { input: "old\n" });
    const follow = spawnCli([
      "consume",
      "live",
      "--group",
      "tail",
      "--follow",
      "--from-beginning",
      "--data",
      data,
    ]);
    const printed = () => follow.stdout().split("\n").filter(Boolean);
    await eventually("the record already there", () => (printed().length === 1 ? true : undefined));
    cli(["produce", "live", "--data", data], { input: "one\ntwo\n" });
    await eventually("the new records", () => (printed().length === 3 ? true : undefined));
    expect(printed()[0]).toBe("old");
    expect(printed().slice(1).sort()).toEqual(["one", "two"]);
    follow.child.kill("SIGINT");
    expect(await follow.exited).toBe(0);
    const g = JSON.parse(cli(["groups", "describe", "tail", "--format", "json", "--data", data]));
    expect(g.members).toHaveLength(0);
    expect(g.offsets.reduce((n: number, o: { lag: number }) => n + o.lag, 0)).toBe(0);
  });
});
