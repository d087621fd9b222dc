import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { appDir, cleanup, cli, jsonLines, runCli, tempDir } from "./helpers.js";

afterEach(cleanup);

const PASS_THROUGH = `
import { Serdes, defineApp } from "@tributary/streams";
const str = Serdes.string();
export default defineApp({
  applicationId: "replay",
  topology: (b) => {
    b.stream<string, string>("history", { keySerde: str, valueSerde: str })
      .to("replayed", { keySerde: str, valueSerde: str });
  },
});
`;

const N = 2000;
const T0 = Date.UTC(2026, 0, 1);

describe("tributary run --order-tasks-by-time", () => {
  it("replays two partitions loaded one after the other in time order within a worker", () => {
    const data = tempDir();
    const file = path.join(appDir(), "replay.ts");
    fs.writeFileSync(file, PASS_THROUGH);
    cli(["topics", "create", "history", "--partitions", "2", "--data", data]);
    cli(["topics", "create", "replayed", "--data", data]);
    // Partition 0 holds the even milliseconds, partition 1 the odd ones, loaded in turn.
    for (const partition of [0, 1]) {
      const lines = Array.from({ length: N }, (_, i) => {
        const t = T0 + 2 * i + partition;
        return JSON.stringify({ key: `k${i}`, value: String(t), timestamp: t, partition });
      });
      cli(["produce", "history", "--format", "json", "--data", data], { input: lines.join("\n") });
    }
    const r = runCli([
      "run",
      file,
      "--order-tasks-by-time",
      "--until-caught-up",
      "--progress",
      "none",
      "--data",
      data,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = jsonLines<{ value: string }>(
      cli(["consume", "replayed", "--format", "json", "--data", data]),
    ).map((l) => Number(l.value));
    expect(out).toHaveLength(2 * N);
    // one output partition: its order is the order the worker processed the records in
    expect(out).toEqual([...out].sort((a, b) => a - b));
  });
});
