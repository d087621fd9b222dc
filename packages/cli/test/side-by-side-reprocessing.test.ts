import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { LogClient } from "@tributary/log";
import { afterEach, describe, expect, it } from "vitest";
import {
  BIN,
  CLI_DIR,
  cleanup,
  eventually,
  expectOneLineError,
  runCli,
  spawnCli,
  startBroker,
  tempDir,
} from "./helpers.js";
import {
  committedLines,
  counts,
  lines,
  readTopic,
  type Line,
  setUp,
  tokenise,
  total,
} from "./side-by-side-scenario.js";

const logs: LogClient[] = [];
afterEach(async () => {
  for (const l of logs.splice(0)) await l.close().catch(() => {});
  await cleanup();
});

interface Comparison {
  phase: string;
  behindLive: number;
  outputs: {
    live: string;
    equal: number;
    changed: number;
    onlyInLive: number;
    onlyInVersion: number;
    samples: {
      changed: { key: string }[];
      onlyInLive: { key: string }[];
      onlyInVersion: { key: string }[];
    };
  }[];
}

const RUN = ["--commit-interval-ms", "200", "--progress", "none"];

/** Waits for `what`, adding what the given runs said to a timeout's message. */
const waitFor = <T>(
  what: string,
  check: () => Promise<T | undefined>,
  runs: { stderr: () => string }[],
) =>
  eventually(what, check).catch((e: Error) => {
    throw new Error(`${e.message}; the runs said: ${runs.map((r) => r.stderr()).join(" | ")}`);
  });

/** What compare must report for counts over `history`: v1 counts "Alpha" and "alpha" apart. */
function expectedDiff(history: { value: string }[]) {
  const live = counts(history, false);
  const v2 = counts(history, true);
  const keys = [...new Set([...live.keys(), ...v2.keys()])].sort();
  return {
    changed: keys.filter((k) => live.has(k) && v2.has(k) && live.get(k) !== v2.get(k)),
    onlyInLive: keys.filter((k) => live.has(k) && !v2.has(k)),
    onlyInVersion: keys.filter((k) => !live.has(k) && v2.has(k)),
    equal: keys.filter((k) => live.get(k) === v2.get(k)).length,
  };
}

describe("side-by-side reprocessing: run --as, compare, promote, abandon", () => {
  it("v2 trails the live app; compare reports exactly the words whose counts differ; a promote SIGKILLed midway (the old app started meanwhile only drains) is finished by running it again, leaving the real outputs with no gap and no duplicate", async () => {
    const broker = await startBroker(tempDir());
    const where = ["--broker", broker.address];
    const { data, log, v1, v2, produce } = await setUp(broker.address);
    logs.push(log);
    const state = ["--state-dir", path.join(data, "state")];
    const part1 = lines(0, 200);
    await produce(part1);

    // Part 1 is processed by the live app; part 2 arrives while it is stopped.
    let live = spawnCli(["run", v1, ...RUN, ...state, ...where]);
    await waitFor(
      "the live app to process part 1",
      async () => (total(await committedLines(log, "wc")) === 200 ? true : undefined),
      [live],
    );
    live.child.kill("SIGTERM");
    expect(await live.exited).toBe(0);
    const part2 = lines(200, 100);
    await produce(part2);

    // v2 from the earliest offsets, beside it: it goes no further than the live app did.
    let shadow = spawnCli([
      "run",
      v2,
      "--as",
      "v2",
      "--from",
      "earliest",
      ...RUN,
      ...state,
      ...where,
    ]);
    await waitFor(
      "v2 to reach the live app's committed offsets",
      async () => (total(await committedLines(log, "wc.v2")) === 200 ? true : undefined),
      [shadow],
    );
    // compare, until it says what the reference says (v2's repartition topic drained and
    // both sides read to their ends): a wrong report ends in a timeout showing the last one
    const compare = async (history: Line[]) => {
      const diff = expectedDiff(history);
      const expected = {
        behindLive: 0,
        counts: {
          equal: diff.equal,
          changed: diff.changed,
          onlyInLive: diff.onlyInLive,
          onlyInVersion: diff.onlyInVersion,
        },
        tokens: {
          equal: history.filter((l) => l.value === l.value.toLowerCase()).length,
          changed: history
            .filter((l) => l.value !== l.value.toLowerCase())
            .map((l) => l.key)
            .sort(),
        },
      };
      let last = "";
      await eventually("compare to report what the reference says", async () => {
        const out = runCli(["compare", "wc", "v2", "--json", "--samples", "1000", ...where]);
        last = out.stdout + out.stderr;
        if (out.status !== 0) return undefined;
        const r = JSON.parse(out.stdout) as Comparison;
        const c = r.outputs.find((o) => o.live === "counts")!;
        const t = r.outputs.find((o) => o.live === "tokens")!;
        const got = {
          behindLive: r.behindLive,
          counts: {
            equal: c.equal,
            changed: c.samples.changed.map((x) => x.key),
            onlyInLive: c.samples.onlyInLive.map((x) => x.key),
            onlyInVersion: c.samples.onlyInVersion.map((x) => x.key),
          },
          tokens: { equal: t.equal, changed: t.samples.changed.map((x) => x.key) },
        };
        return JSON.stringify(got) === JSON.stringify(expected) ? true : undefined;
      }).catch((e: Error) => {
        throw new Error(
          `${e.message}: expected ${JSON.stringify(expected)}, last said ${last}; the runs said: ${shadow.stderr()} | ${live.stderr()}`,
        );
      });
    };
    expect(expectedDiff(part1).changed.length).toBeGreaterThan(0);
    expect(expectedDiff(part1).onlyInLive.length).toBeGreaterThan(0);
    await compare(part1);
    expect(total(await committedLines(log, "wc.v2"))).toBe(200);

    // The live app again: it processes part 2, and v2 follows it.
    live = spawnCli(["run", v1, ...RUN, ...state, ...where]);
    await waitFor(
      "both to process part 2",
      async () =>
        total(await committedLines(log, "wc")) === 300 &&
        total(await committedLines(log, "wc.v2")) === 300
          ? true
          : undefined,
      [live, shadow],
    );
    await compare([...part1, ...part2]);
    expect(total(await committedLines(log, "wc.v2"))).toBe(300);
    // The shadow wrote shadow topics only: the real tokens are v1's, one per line.
    const before = await readTopic(log, "tokens");
    expect(before.map((r) => r.value)).toEqual(
      before.map((r) =>
        tokenise([...part1, ...part2].find((l) => l.key === r.key)!.value, false).join(" "),
      ),
    );

    // Part 3 arrives as a promote starts, while v2's run is stopped: the live app stops
    // reading input, drains and stops by itself, and the promote records where it stopped,
    // then waits for v2. It is SIGKILLed there, midway.
    shadow.child.kill("SIGTERM");
    expect(await shadow.exited, shadow.stderr()).toBe(0);
    await produce(lines(300, 100));
    const interrupted = spawnCli(["promote", "wc", "v2", ...where]);
    expect(await live.exited, live.stderr()).toBe(0);
    expect(live.stderr()).toMatch(/being promoted/);
    const liveEnds = new Map(
      (await log.admin.listOffsets("counts", "latest")).map((o) => [o.partition, o.offset]),
    );
    const record = await waitFor("the promote to record where the live app stopped", async () => {
      const rows = (await readTopic(log, "_tributary_shadows")).filter((r) => r.key === "wc/v2");
      const r = JSON.parse(rows.at(-1)!.value) as {
        phase: string;
        fence: { partition: number; offset: number }[] | null;
      };
      return r.fence !== null ? r : undefined;
    }, [interrupted]);
    expect(record.phase).toBe("promoting");
    interrupted.child.kill("SIGKILL");
    await interrupted.exited;
    // The old app started meanwhile, with new input there: it reads none of it, drains and
    // stops by itself, and its committed offsets stay where the promote recorded them.
    await produce(lines(400, 50));
    const restarted = spawnCli(["run", v1, ...RUN, ...state, ...where]);
    expect(await restarted.exited, restarted.stderr()).toBe(0);
    expect(restarted.stderr()).toMatch(/is being replaced by version v2/);
    expect([...(await committedLines(log, "wc"))].sort()).toEqual(
      record.fence!.map((f) => [f.partition, f.offset]).sort(),
    );
    // v2 runs again (no --from: it goes on where it stood), and the promote is run again.
    shadow = spawnCli(["run", v2, "--as", "v2", ...RUN, ...state, ...where]);
    const promote = spawnCli(["promote", "wc", "v2", ...where]);
    expect(await promote.exited, promote.stderr()).toBe(0);
    expect(promote.stdout()).toMatch(
      /^promoted wc to v2: wc\.v2 writes counts, tokens from input offsets lines-0@\d+ lines-1@\d+$/m,
    );
    // Where v2 took over: the old app's final committed input offsets.
    const fence = await committedLines(log, "wc");
    await produce(lines(450, 50));
    const history = lines(0, 500);
    const finalCounts = counts(history, true);
    const latestCounts = async () => {
      const latest = new Map<string, number>();
      for (const r of await readTopic(log, "counts")) latest.set(r.key, JSON.parse(r.value));
      return latest;
    };
    // both outputs complete: a line each in tokens, each word's count at the reference
    await waitFor("v2 to process part 4 on the real outputs", async () => {
      if (total(await committedLines(log, "wc.v2")) !== 500) return undefined;
      if ((await readTopic(log, "tokens")).length < 500) return undefined;
      const latest = await latestCounts();
      return [...finalCounts].every(([k, n]) => latest.get(k) === n) ? true : undefined;
    }, [shadow]);
    expect(shadow.stderr()).toMatch(/promoted: restarting the workers on the real output topics/);

    // Per input record: every line once in the real tokens topic, tokenised by v1 below the
    // fence and by v2 (lower-cased) from it on.
    const input = await readTopic(log, "lines");
    const tokens = await readTopic(log, "tokens");
    expect(tokens.length).toBe(500);
    const byKey = new Map(tokens.map((r) => [r.key, r.value]));
    expect(byKey.size).toBe(500);
    let fromV2 = 0;
    for (const r of input) {
      const v2Wrote = r.offset >= fence.get(r.partition)!;
      if (v2Wrote) fromV2++;
      expect(byKey.get(r.key), `${r.key} at lines-${r.partition}@${r.offset}`).toBe(
        tokenise(r.value, v2Wrote).join(" "),
      );
    }
    expect(fromV2).toBeGreaterThanOrEqual(100);
    // Per key, the counts v2 wrote to the real topic (after the live app's last record) go up
    // strictly (no duplicate), start above v2's count before the fence (its state carried
    // the history: no gap) and end at the reference over the whole history.
    const beforeFence = counts(
      input.filter((r) => r.offset < fence.get(r.partition)!),
      true,
    );
    const written = new Map<string, number[]>();
    for (const r of await readTopic(log, "counts")) {
      if (r.offset < liveEnds.get(r.partition)!) continue;
      written.set(r.key, [...(written.get(r.key) ?? []), JSON.parse(r.value) as number]);
    }
    expect([...written.keys()].sort()).toEqual(
      [...finalCounts.keys()].filter((k) => finalCounts.get(k) !== beforeFence.get(k)).sort(),
    );
    for (const [k, values] of written) {
      expect(values[0], k).toBeGreaterThan(beforeFence.get(k) ?? 0);
      for (let i = 1; i < values.length; i++) expect(values[i]!, k).toBeGreaterThan(values[i - 1]!);
      expect(values.at(-1), k).toBe(finalCounts.get(k));
    }

    // After the promote the old app refuses to run: it would write the outputs again.
    const old = runCli(["run", v1, ...RUN, ...state, ...where]);
    expect(old.status).toBe(1);
    expect(expectOneLineError(old)).toMatch(/promoted to version v2.*--as v2/);
  });

  it("abandon removes the version's topics, group, state and record; an unknown version names those there are", async () => {
    const broker = await startBroker(tempDir());
    const where = ["--broker", broker.address];
    const { data, log, v1, v2, produce } = await setUp(broker.address);
    logs.push(log);
    const stateDir = path.join(data, "state");
    const state = ["--state-dir", stateDir];
    await produce(lines(0, 40));
    const batch = runCli(["run", v1, "--until-caught-up", ...RUN, ...state, ...where]);
    expect(batch.status, batch.stderr).toBe(0);

    // From 00:20 on: lines 20..39 only (event time one a minute from 00:00).
    const shadow = runCli([
      "run",
      v2,
      "--as",
      "v2",
      "--from",
      "2024-03-01T00:20:00Z",
      "--until-caught-up",
      ...RUN,
      ...state,
      ...where,
    ]);
    expect(shadow.status, shadow.stderr).toBe(0);
    expect((await readTopic(log, "tokens.v2")).map((r) => r.key).sort()).toEqual(
      lines(20, 20).map((l) => l.key),
    );
    const topics = await log.admin.listTopics();
    expect(topics).toEqual(
      expect.arrayContaining([
        "counts.v2",
        "tokens.v2",
        "wc.v2-words-repartition",
        "wc.v2-counts-changelog",
      ]),
    );
    expect(fs.existsSync(path.join(stateDir, "wc.v2"))).toBe(true);

    const unknown = await runAsync(["promote", "wc", "v3", ...where]);
    const abandoned = await runAsync(["abandon", "wc", "v2", ...state, ...where]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /^tributary: no version v3 of app wc: app wc has v2 \(shadow\)\n$/,
    );
    expect(abandoned.code, abandoned.stderr).toBe(0);
    expect(abandoned.stdout).toMatch(/^abandoned wc v2/);
    const left = await log.admin.listTopics();
    expect(left.filter((t) => t.includes("v2"))).toEqual([]);
    expect(left).toEqual(expect.arrayContaining(["counts", "tokens", "wc-words-repartition"]));
    expect(fs.existsSync(path.join(stateDir, "wc.v2"))).toBe(false);
    expect(fs.existsSync(path.join(stateDir, "wc"))).toBe(true);
    expect((await log.admin.listGroups()).map((g) => g.groupId)).not.toContain("wc.v2");
    const again = runCli(["compare", "wc", "v2", ...where]);
    expect(again.status).toBe(1);
    expect(expectOneLineError(again)).toMatch(
      /no version v2 of app wc: app wc has no side-by-side version/,
    );
  });

  it("bad flags name the flag and what to give", async () => {
    const data = tempDir();
    const app = path.join(data, "app.ts");
    fs.writeFileSync(app, "export default {};\n");
    const at = ["--data", data];
    const results = await Promise.all([
      runAsync(["run", app, "--as", "v 2", "--from", "earliest", ...at]),
      runAsync(["run", app, "--from", "earliest", ...at]),
      runAsync(["run", app, "--as", "v2", "--from", "yesterday", ...at]),
      runAsync(["compare", "wc", "v2", "--samples", "-1", ...at]),
      runAsync(["promote", "wc", "v2", "--timeout", "soon", ...at]),
    ]);
    const expected = [
      /^tributary: --as v 2: a version name may only hold ASCII letters, digits/,
      /^tributary: --from starts a side-by-side version: give it with --as <version>/,
      /^tributary: --from yesterday: expected an ISO-8601 date-time/,
      /^tributary: --samples -1: expected an integer from 0/,
      /^tributary: --timeout soon: expected a duration/,
    ];
    results.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toMatch(expected[i]!);
    });
  });
});

/** A CLI command run to its end without blocking the test's event loop (so several at once). */
function runAsync(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: CLI_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  // "close": after the output is read to its end
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}
