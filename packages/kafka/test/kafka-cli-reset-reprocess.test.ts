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
} from "../../cli/test/helpers.js";
import {
  describeGroup,
  latestCounts,
  lines,
  reference,
  WORDS,
  wordCountApp,
} from "../../cli/test/reprocess-scenario.js";
import { dropTopicsAfterAll, kafkaBrokers, uniqueNamespace } from "./kafka-helpers.js";

// packages/cli/test/reprocess-history.test.ts's scenario, with the real `tributary` command
// on Kafka (--kafka): run as a batch job, run as a service, reset --to-earliest (refused
// while the app has members), rerun a changed topology, and compare its derived stream with
// the reference over the whole history. As Kafka's own kafka-streams-application-reset,
// reset moves the group's input offsets and deletes the internal topics. The CLI has no
// namespace flag, so names carry a unique suffix instead (Kafka deletes asynchronously).

const brokers = kafkaBrokers();
afterEach(cleanup);

const suffix = uniqueNamespace("rs");
const APP = `wc-${suffix}`;
const LINES = `lines-${suffix}`;
const COUNTS = `counts-${suffix}`;
const LONG = `long-counts-${suffix}`;
dropTopicsAfterAll(suffix);

// Version 1 counts every word; version 2 (the changed topology) only words longer than 3
// letters, into a new topic, with the same store and repartition names: counts left over
// from version 1 in a changelog or local store would show in the comparison.
const app = (minLength: number, output: string) =>
  wordCountApp({ applicationId: APP, input: LINES, output, minLength });

// this scenario's history is drawn from the first ten words only
const words = WORDS.slice(0, 10);

const k = ["--kafka", brokers];
const latest = (topic: string) => latestCounts(topic, k);
const group = () => describeGroup(APP, k);
const inputCommitted = () =>
  group()
    .offsets.filter((o) => o.topic === LINES)
    .reduce((n, o) => n + o.offset, 0);

describe("reprocessing history on Kafka with the tributary command", () => {
  it("run, stop, reset --to-earliest, rerun a changed topology: the derived stream equals the reference over the whole history", {
    timeout: 400_000, // a hang guard (loaded machines)
  }, async () => {
    const data = tempDir();
    const apps = appDir();
    fs.writeFileSync(path.join(apps, "wc-v1.ts"), app(1, COUNTS));
    fs.writeFileSync(path.join(apps, "wc-v2.ts"), app(4, LONG));
    const run = (file: string, extra: string[] = []) => [
      "run",
      path.join(apps, file),
      "--workers",
      "2",
      ...extra,
      "--data",
      data,
      ...k,
    ];
    for (const t of [LINES, COUNTS, LONG]) cli(["topics", "create", t, "--partitions", "2", ...k]);

    // Recent event times: Kafka applies retention.ms (7 days by default) to record
    // timestamps, and the repartition topic the worker creates has that default, so older
    // history would be deleted under the rerun (see docs/kafka.md).
    const t0 = Date.now() - 2 * 24 * 3600_000;
    const part1 = lines(300, 7, t0, words);
    cli(["produce", LINES, "--format", "json", ...k], {
      input: part1.map((l) => JSON.stringify(l)).join("\n"),
    });
    const batch = runCli(run("wc-v1.ts", ["--until-caught-up"]), { timeoutMs: 90_000 });
    expect(batch.status, batch.stderr).toBe(0);
    expect(latest(COUNTS)).toEqual(reference(part1, 1));

    // Part 2 arrives while the app runs as a service.
    const service = spawnCli(run("wc-v1.ts"));
    await eventually("two workers in the group", () =>
      group().members.length === 2 ? true : undefined,
    );
    const part2 = lines(200, 99, t0 + 300 * 60_000, words);
    cli(["produce", LINES, "--format", "json", ...k], {
      input: part2.map((l) => JSON.stringify(l)).join("\n"),
    });
    const history = [...part1, ...part2];
    await eventually("the service to process part 2", () => {
      const g = group();
      const input = g.offsets.filter((o) => o.topic === LINES).reduce((n, o) => n + o.offset, 0);
      return input === history.length && g.offsets.every((o) => o.lag === 0) ? true : undefined;
    });

    // Refused while the app has live members; nothing moves.
    const refused = runCli(["reset", "--app", APP, "--to-earliest", "--data", data, ...k]);
    expect(refused.status).toBe(1);
    expect(expectOneLineError(refused)).toMatch(/live member/);
    expect(inputCommitted()).toBe(history.length);

    service.child.kill("SIGTERM");
    expect(await service.exited).toBe(0);
    expect(group().members).toHaveLength(0);
    expect(latest(COUNTS)).toEqual(reference(history, 1));
    const stateDir = path.join(data, "state", APP);
    expect(fs.existsSync(stateDir)).toBe(true);

    const changelog = `${APP}-counts-changelog`;
    const repartition = `${APP}-words-repartition`;
    const plan = JSON.parse(
      cli([
        "reset",
        "--app",
        APP,
        "--to-earliest",
        "--dry-run",
        "--format",
        "json",
        "--data",
        data,
        ...k,
      ]),
    ) as { offsets: { topic: string; from: number; to: number }[]; deleteTopics: string[] };
    expect(plan.offsets.reduce((n, r) => n + r.from, 0)).toBe(history.length);
    expect(plan.offsets.every((r) => r.topic === LINES && r.to === 0)).toBe(true);
    expect(plan.deleteTopics).toEqual([changelog, repartition]);

    cli(["reset", "--app", APP, "--to-earliest", "--data", data, ...k]);
    const topics = cli(["topics", "list", ...k]).split("\n");
    expect(topics).not.toContain(changelog);
    expect(fs.existsSync(stateDir)).toBe(false);
    expect(inputCommitted()).toBe(0);
    // nothing the old repartition topic held is skipped or read again
    const stale = group().offsets.filter((o) => o.topic === repartition);
    expect(stale.every((o) => o.offset === 0)).toBe(true);

    const rerun = runCli(run("wc-v2.ts", ["--until-caught-up"]), { timeoutMs: 90_000 });
    expect(rerun.status, rerun.stderr).toBe(0);
    const expected = reference(history, 4);
    expect(expected.size).toBeGreaterThan(3);
    expect(latest(LONG)).toEqual(expected);
  });
});
