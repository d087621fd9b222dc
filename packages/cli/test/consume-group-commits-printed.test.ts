import { afterEach, describe, expect, it } from "vitest";
import { cleanup, cli, jsonLines, tempDir } from "./helpers.js";

afterEach(cleanup);

interface Printed {
  partition: number;
  offset: number;
}

interface GroupJson {
  offsets: { partition: number; offset: number }[];
}

describe("consume --group --max-messages", () => {
  it("commits exactly the records it printed, on every partition of the last poll", () => {
    const data = tempDir();
    cli(["topics", "create", "clicks", "--partitions", "3", "--data", data]);
    const input = Array.from({ length: 3000 }, (_, i) =>
      JSON.stringify({ key: `k${i}`, value: i }),
    ).join("\n");
    cli(["produce", "clicks", "--format", "json", "--value-serde", "json", "--data", data], {
      input,
    });

    const printed: Printed[] = [];
    for (let run = 1; run <= 5; run++) {
      const out = jsonLines<Printed>(
        cli([
          "consume",
          "clicks",
          "--group",
          "g",
          "--max-messages",
          "100",
          "--format",
          "json",
          "--data",
          data,
        ]),
      );
      expect(out).toHaveLength(100);
      printed.push(...out);
      const d = JSON.parse(
        cli(["groups", "describe", "g", "--format", "json", "--data", data]),
      ) as GroupJson;
      // The committed offset of each partition is one past the last record printed from
      // it: nothing skipped, nothing committed unseen.
      for (let p = 0; p < 3; p++) {
        const mine = printed.filter((r) => r.partition === p).map((r) => r.offset);
        expect(mine).toEqual(mine.map((_, i) => i));
        const committed = d.offsets.find((o) => o.partition === p)?.offset ?? 0;
        expect({ partition: p, committed }).toEqual({ partition: p, committed: mine.length });
      }
    }
    expect(printed).toHaveLength(500);
  });
});
