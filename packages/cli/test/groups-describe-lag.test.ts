import { afterEach, describe, expect, it } from "vitest";
import { cleanup, cli, jsonLines, tempDir } from "./helpers.js";

afterEach(cleanup);

interface GroupJson {
  groupId: string;
  state: string;
  members: unknown[];
  offsets: {
    topic: string;
    partition: number;
    offset: number;
    logEndOffset: number;
    lag: number;
  }[];
}

describe("groups", () => {
  it("a group consumes part of a topic; describe shows its committed offsets and the lag per partition", () => {
    const data = tempDir();
    cli(["topics", "create", "orders", "--partitions", "2", "--data", data]);
    const input = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ key: `c${i % 4}`, value: i, timestamp: 1_000 + i }),
    ).join("\n");
    cli(["produce", "orders", "--format", "json", "--value-serde", "json", "--data", data], {
      input,
    });

    const first = cli([
      "consume",
      "orders",
      "--group",
      "billing",
      "--max-messages",
      "15",
      "--data",
      data,
    ]);
    expect(first.split("\n").filter(Boolean)).toHaveLength(15);

    const d = JSON.parse(
      cli(["groups", "describe", "billing", "--format", "json", "--data", data]),
    ) as GroupJson;
    expect(d.members).toHaveLength(0);
    const committed = d.offsets.reduce((n, o) => n + o.offset, 0);
    const lag = d.offsets.reduce((n, o) => n + o.lag, 0);
    expect(committed).toBe(15);
    expect(lag).toBe(25);
    for (const o of d.offsets) expect(o.lag).toBe(o.logEndOffset - o.offset);

    const text = cli(["groups", "describe", "billing", "--data", data]);
    expect(text).toMatch(/total lag 25/);
    expect(text).toMatch(/^orders\s+0\s+\d+\s+\d+\s+\d+/m);

    // The group resumes where it committed: the rest, each record once.
    const rest = cli([
      "consume",
      "orders",
      "--group",
      "billing",
      "--value-serde",
      "json",
      "--data",
      data,
    ]);
    const all = [...first.split("\n"), ...rest.split("\n")].filter(Boolean).map(Number);
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const after = JSON.parse(
      cli(["groups", "describe", "billing", "--format", "json", "--data", data]),
    ) as GroupJson;
    expect(after.offsets.every((o) => o.lag === 0)).toBe(true);

    const list = jsonLines<{ groupId: string; members: number }[]>(
      cli(["groups", "list", "--format", "json", "--data", data]),
    )[0]!;
    expect(list).toEqual([expect.objectContaining({ groupId: "billing", members: 0 })]);
  });
});
