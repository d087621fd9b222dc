import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  appDir,
  cleanup,
  cli,
  eventually,
  jsonLines,
  metricsAddress,
  promSample,
  spawnCli,
  tempDir,
} from "./helpers.js";

afterEach(cleanup);

// Counts per key (a cached store per task); every tenth record throws and is
// dead-lettered. Worker processes take 3 s to load it, so readiness can be seen waiting.
const COUNTING = `
import { Serdes, defineApp } from "@tributary/streams";
const str = Serdes.string();
if (process.argv.includes("_worker")) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
export default defineApp({
  applicationId: "tally",
  topology: (b) => {
    b.stream<string, { n: number }>("in", { keySerde: str, valueSerde: Serdes.json() })
      .mapValues((v) => {
        if (v.n % 10 === 0) throw new Error("no multiples of ten");
        return v.n;
      })
      .groupByKey()
      .count()
      .toStream()
      .mapValues((n) => String(n))
      .to("counts", { keySerde: str, valueSerde: str });
  },
});
`;

describe("tributary run --metrics, per task", () => {
  it("serves per-task processed, dead-lettered and cache counters, rebalances, commit and restore histograms; ready only once tasks are restored", async () => {
    const data = tempDir();
    const file = path.join(appDir(), "tally.ts");
    fs.writeFileSync(file, COUNTING);
    for (const t of ["in", "counts"]) {
      cli(["topics", "create", t, "--partitions", "2", "--data", data]);
    }
    const input = Array.from({ length: 300 }, (_, n) =>
      JSON.stringify({ key: `k${n % 30}`, value: { n } }),
    );
    cli(["produce", "in", "--format", "json", "--value-serde", "json", "--data", data], {
      input: input.join("\n"),
    });
    // What each partition holds, and its dead letters: what each task must report.
    const stored = jsonLines<{ partition: number; value: { n: number } }>(
      cli(["consume", "in", "--format", "json", "--value-serde", "json", "--data", data]),
    );
    const perPartition = [0, 1].map((p) => stored.filter((r) => r.partition === p));
    expect(perPartition[0]!.length).toBeGreaterThan(0);
    expect(perPartition[1]!.length).toBeGreaterThan(0);

    const run = spawnCli([
      "run",
      file,
      "--metrics",
      "127.0.0.1:0",
      "--progress",
      "none",
      "--data",
      data,
    ]);
    const address = await metricsAddress(run);
    // The worker process runs but is still loading the app: it has no tasks, so the run is
    // not ready (it said ready here once the process was spawned).
    const early = await fetch(`http://${address}/readyz`);
    expect(early.status).toBe(503);
    expect(await early.text()).toMatch(/not ready: 0 of 1 workers have their tasks/);

    const label = (task: string) => `{task="${task}",app="tally"}`;
    const text = await eventually("every record counted per task", async () => {
      const t = await (await fetch(`http://${address}/metrics`)).text();
      const done = [0, 1].every(
        (p) =>
          promSample(t, `tributary_app_task_records_processed_total${label(`0_${p}`)}`) ===
          perPartition[p]!.length,
      );
      return done ? t : undefined;
    });
    for (const p of [0, 1]) {
      const task = `0_${p}`;
      const dead = perPartition[p]!.filter((r) => r.value.n % 10 === 0).length;
      expect(promSample(text, `tributary_app_task_records_dead_lettered_total${label(task)}`)).toBe(
        dead,
      );
      expect(promSample(text, `tributary_app_task_records_dropped_late_total${label(task)}`)).toBe(
        0,
      );
      // count() reads each key's count through its store's write-back cache
      const hits = promSample(text, `tributary_app_record_cache_hits_total${label(task)}`)!;
      const misses = promSample(text, `tributary_app_record_cache_misses_total${label(task)}`)!;
      expect(hits).toBeGreaterThan(0);
      expect(misses).toBeGreaterThanOrEqual(0);
    }
    expect(promSample(text, 'tributary_app_rebalances_total{app="tally"}')).toBeGreaterThanOrEqual(
      1,
    );
    // One restore per task (its store opened and replayed), at least one commit.
    expect(promSample(text, 'tributary_app_restore_duration_seconds_count{app="tally"}')).toBe(2);
    await eventually("a commit measured", async () => {
      const t = await (await fetch(`http://${address}/metrics`)).text();
      const n = promSample(t, 'tributary_app_commit_duration_seconds_count{app="tally"}');
      return n !== undefined && n > 0 ? true : undefined;
    });
    expect((await fetch(`http://${address}/readyz`)).status).toBe(200);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  });
});
