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

/** How far the output went back in time: the most any record is older than one before it. */
function mostLateness(xs: readonly number[]): number {
  let latest = Number.NEGATIVE_INFINITY;
  let most = 0;
  for (const x of xs) {
    if (x > latest) latest = x;
    else most = Math.max(most, latest - x);
  }
  return most;
}

/** Two partitions loaded one after the other (even milliseconds, then odd), run once. */
function replay(flags: readonly string[]): number[] {
  const data = tempDir();
  const file = path.join(appDir(), "replay.ts");
  fs.writeFileSync(file, PASS_THROUGH);
  cli(["topics", "create", "history", "--partitions", "2", "--data", data]);
  cli(["topics", "create", "replayed", "--data", data]);
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
    ...flags,
    "--until-caught-up",
    "--progress",
    "none",
    "--data",
    data,
  ]);
  expect(r.status, r.stderr).toBe(0);
  // one output partition: its order is the order the worker processed the records in
  return jsonLines<{ value: string }>(
    cli(["consume", "replayed", "--format", "json", "--data", data]),
  ).map((l) => Number(l.value));
}

// The worker-wide scheduler's slack (TASK_ORDER_SLACK_MS in @tributary/streams).
const SLACK_MS = 1000;

describe("tributary run replays history in time order within a worker", () => {
  it("by default (and with --order-tasks-by-time) the two partitions come out in time order, within the slack", () => {
    for (const flags of [[], ["--order-tasks-by-time"]]) {
      const out = replay(flags);
      expect(out).toHaveLength(2 * N);
      expect(new Set(out).size).toBe(2 * N);
      expect(mostLateness(out)).toBeLessThanOrEqual(SLACK_MS);
    }
  });

  it("--no-order-tasks-by-time runs each fetched batch whole: the output goes back in time", () => {
    const out = replay(["--no-order-tasks-by-time"]);
    expect(out).toHaveLength(2 * N);
    expect(mostLateness(out)).toBeGreaterThan(SLACK_MS);
  });
});
