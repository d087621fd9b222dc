import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  appDir,
  cleanup,
  cli,
  eventually,
  expectOneLineError,
  jsonLines,
  runCli,
  spawnCli,
  startBroker,
  tempDir,
  UPPER_APP,
} from "./helpers.js";

afterEach(cleanup);

const APP = `
import { Serdes, defineApp } from "@tributary/streams";
const str = Serdes.string();
export default defineApp({
  applicationId: "sbwc",
  topology: (b) => {
    const counts = b
      .stream<string | null, string>("sb-lines", { keySerde: str, valueSerde: str })
      .flatMapValues((line) => line.split(" "))
      .groupBy((_k, w) => w, { name: "words", keySerde: str, valueSerde: str })
      .count({ storeName: "counts" });
    return { counts };
  },
});
`;

/** Task directories holding a `counts` store under one worker slot's state. */
function countsTasks(slotDir: string): string[] {
  const root = path.join(slotDir, "sbwc");
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((t) => fs.existsSync(path.join(root, t, "counts")))
    .sort();
}

describe("tributary run --num-standby-replicas", () => {
  it("refuses a count that is not a whole number from 0, before starting anything", () => {
    const data = tempDir();
    const apps = appDir();
    fs.writeFileSync(path.join(apps, "upper.ts"), UPPER_APP);
    cli(["topics", "create", "in", "--partitions", "1", "--data", data]);
    cli(["topics", "create", "out", "--partitions", "1", "--data", data]);
    for (const bad of ["-1", "two"]) {
      const r = runCli([
        "run",
        path.join(apps, "upper.ts"),
        "--num-standby-replicas",
        bad,
        "--until-caught-up",
        "--data",
        data,
      ]);
      expect(r.status).toBe(2);
      expect(expectOneLineError(r)).toMatch(/--num-standby-replicas/);
    }
    expect(cli(["groups", "list", "--data", data])).not.toMatch(/upper/);
  });

  it("keeps each task's stores on both of 2 workers, each in its own state directory, and answers --allow-stale queries", async () => {
    const data = tempDir();
    const broker = await startBroker(data);
    const b = ["--broker", broker.address];
    cli(["topics", "create", "sb-lines", "--partitions", "3", ...b]);
    const words = ["alpha", "beta", "gamma", "delta", "kafka", "flink", "zeta", "éclair"];
    const counts = new Map<string, number>();
    const lines: string[] = [];
    for (let i = 0; i < 400; i++) {
      const line = [words[i % words.length]!, words[(i * 7 + 3) % words.length]!];
      for (const w of line) counts.set(w, (counts.get(w) ?? 0) + 1);
      lines.push(JSON.stringify({ value: line.join(" ") }));
    }
    cli(["produce", "sb-lines", "--format", "json", ...b], { input: lines.join("\n") });
    const dir = appDir();
    fs.writeFileSync(path.join(dir, "app.ts"), APP);
    const state = path.join(data, "state");
    spawnCli([
      "run",
      path.join(dir, "app.ts"),
      "--workers",
      "2",
      "--num-standby-replicas",
      "1",
      "--progress",
      "none",
      "--data",
      data,
      ...b,
    ]);
    await eventually("every count from the workers", () => {
      const r = runCli(["query", "sbwc", "counts", "--all", ...b]);
      if (r.status !== 0) return undefined;
      const got = jsonLines<{ key: string; value: number }>(r.stdout);
      return got.length === counts.size && got.every((e) => e.value === counts.get(e.key))
        ? true
        : undefined;
    });
    // one task runs on each slot and its standby on the other: both slots hold all 3
    const slots = [0, 1].map((i) => path.join(state, "sbwc", `worker-${i}`));
    const both = await eventually("each counts task kept on both worker slots", () => {
      const [a, c] = slots.map(countsTasks);
      return a!.length === 3 && JSON.stringify(a) === JSON.stringify(c) ? a : undefined;
    });
    expect(both).toHaveLength(3);
    for (const [w, n] of counts) {
      const [line] = jsonLines<Record<string, unknown>>(
        cli(["query", "sbwc", "counts", "--key", w, "--allow-stale", ...b]),
      );
      // the active worker answers while it runs: nothing stale
      expect(line).toEqual(expect.objectContaining({ key: w, found: true, value: n }));
      expect(line).not.toHaveProperty("stale");
    }
  });
});
