import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  appDir,
  cleanup,
  cli,
  eventually,
  expectOneLineError,
  runCli,
  spawnCli,
  tempDir,
} from "./helpers.js";
import {
  describeGroup,
  latestCounts,
  lines,
  reference,
  wordCountApp,
} from "./reprocess-scenario.js";

afterEach(cleanup);

// Version 1 counts every word. Version 2, the "changed topology", counts only words
// longer than 3 letters, into a new topic, with the same store and repartition names: if
// reset left the old changelog or local state behind, its counts would start from the
// old ones and the comparison with the reference below would fail.
const APP_V1 = wordCountApp({
  applicationId: "wc",
  input: "lines",
  output: "counts",
  minLength: 1,
});
const APP_V2 = wordCountApp({
  applicationId: "wc",
  input: "lines",
  output: "long-counts",
  minLength: 4,
});

const latest = (data: string, topic: string) => latestCounts(topic, ["--data", data]);
const group = (data: string) => describeGroup("wc", ["--data", data]);

describe("reprocessing history with run and reset", () => {
  it("run, stop, reset --to-earliest, rerun a changed topology: the new derived stream equals the reference over the whole history", async () => {
    const data = tempDir();
    const apps = appDir();
    fs.writeFileSync(path.join(apps, "wc-v1.ts"), APP_V1);
    fs.writeFileSync(path.join(apps, "wc-v2.ts"), APP_V2);
    // The history is stamped in 2024: topics that keep it (the default 7 days by record
    // time would let the broker delete it while the test runs).
    for (const t of ["lines", "counts", "long-counts"])
      cli([
        "topics",
        "create",
        t,
        "--partitions",
        "2",
        "--config",
        "retention.ms=-1",
        "--data",
        data,
      ]);

    // History, part 1: processed as a batch job.
    const t0 = Date.parse("2024-01-01T00:00:00Z");
    const part1 = lines(300, 7, t0);
    cli(["produce", "lines", "--format", "json", "--data", data], {
      input: part1.map((l) => JSON.stringify(l)).join("\n"),
    });
    const batch = runCli([
      "run",
      path.join(apps, "wc-v1.ts"),
      "--workers",
      "2",
      "--until-caught-up",
      "--data",
      data,
    ]);
    expect(batch.status, batch.stderr).toBe(0);
    expect(batch.stderr).toMatch(/caught up/);
    expect(latest(data, "counts")).toEqual(reference(part1, 1));

    // Part 2 arrives while the app runs as a service; then it is stopped with SIGTERM.
    const service = spawnCli([
      "run",
      path.join(apps, "wc-v1.ts"),
      "--workers",
      "2",
      "--data",
      data,
    ]);
    await eventually("two workers in the group", () =>
      group(data).members.length === 2 ? true : undefined,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; run said: ${service.stderr()}`);
    });
    const part2 = lines(200, 99, t0 + 300 * 60_000);
    cli(["produce", "lines", "--format", "json", "--data", data], {
      input: part2.map((l) => JSON.stringify(l)).join("\n"),
    });
    const history = [...part1, ...part2];
    await eventually("the service to process part 2", () => {
      const g = group(data);
      const input = g.offsets.filter((o) => o.topic === "lines").reduce((n, o) => n + o.offset, 0);
      return input === history.length && g.offsets.every((o) => o.lag === 0) ? true : undefined;
    });

    // A reset while the app has live members is refused and changes nothing.
    const refused = runCli(["reset", "--app", "wc", "--to-earliest", "--data", data]);
    expect(refused.status).toBe(1);
    expect(expectOneLineError(refused)).toMatch(/live member/);

    service.child.kill("SIGTERM");
    expect(await service.exited).toBe(0);
    expect(group(data).members).toHaveLength(0);
    expect(latest(data, "counts")).toEqual(reference(history, 1));
    const stateDir = path.join(data, "state", "wc");
    expect(fs.existsSync(stateDir)).toBe(true);

    // The dry run prints the plan (old → new per partition) and moves nothing.
    const plan = JSON.parse(
      cli([
        "reset",
        "--app",
        "wc",
        "--to-earliest",
        "--dry-run",
        "--format",
        "json",
        "--data",
        data,
      ]),
    ) as {
      offsets: { topic: string; from: number; to: number }[];
      deleteTopics: string[];
    };
    expect(plan.offsets.map((r) => r.topic)).toEqual(["lines", "lines"]);
    expect(plan.offsets.reduce((n, r) => n + r.from, 0)).toBe(history.length);
    expect(plan.offsets.every((r) => r.to === 0)).toBe(true);
    expect(plan.deleteTopics).toEqual(["wc-counts-changelog", "wc-words-repartition"]);
    const text = cli(["reset", "--app", "wc", "--to-earliest", "--dry-run", "--data", data]);
    // The lines are keyless, and a keyless send goes to one sticky partition, so either
    // partition may be the one holding (and having committed) the history.
    expect(text).toMatch(/^lines\s+[01]\s+\d+\s+→\s+0$/m);
    expect(
      group(data)
        .offsets.filter((o) => o.topic === "lines")
        .reduce((n, o) => n + o.offset, 0),
    ).toBe(history.length);

    // The reset itself: offsets to 0, internal topics and local state gone.
    cli(["reset", "--app", "wc", "--to-earliest", "--data", data]);
    const topics = cli(["topics", "list", "--data", data]).split("\n");
    expect(topics).not.toContain("wc-counts-changelog");
    expect(fs.existsSync(stateDir)).toBe(false);
    expect(
      group(data)
        .offsets.filter((o) => o.topic === "lines")
        .every((o) => o.offset === 0),
    ).toBe(true);
    const repartition = group(data).offsets.filter((o) => o.topic === "wc-words-repartition");
    expect(repartition.every((o) => o.offset === 0)).toBe(true);

    // The changed topology recomputes its derived stream from the whole history.
    const rerun = runCli([
      "run",
      path.join(apps, "wc-v2.ts"),
      "--workers",
      "2",
      "--until-caught-up",
      "--data",
      data,
    ]);
    expect(rerun.status, rerun.stderr).toBe(0);
    const expected = reference(history, 4);
    expect(expected.size).toBeGreaterThan(3);
    expect(latest(data, "long-counts")).toEqual(expected);
  });
});
