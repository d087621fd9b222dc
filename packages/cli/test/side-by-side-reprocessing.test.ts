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
} from "./helpers.js";
import { describeGroup } from "./reprocess-scenario.js";

afterEach(cleanup);

/**
 * Word count with a second output: `tokens`, one record per input line (its words joined),
 * so the real output can be checked per input record for gaps and duplicates. Version 2
 * changes the tokeniser: it lower-cases.
 */
const app = (lower: boolean) => `
import { Serdes, defineApp } from "@tributary/streams";
const str = Serdes.string();
const split = (line: string) => line${lower ? ".toLowerCase()" : ""}.split(/[^A-Za-z]+/).filter((w) => w.length > 0);
export default defineApp({
  applicationId: "wc",
  topology: (b) => {
    const lines = b.stream<string, string>("lines", { keySerde: str, valueSerde: str });
    lines.mapValues((line) => split(line).join(" ")).to("tokens", { keySerde: str, valueSerde: str });
    lines
      .flatMapValues(split)
      .groupBy((_k, w) => w, { name: "words", keySerde: str, valueSerde: str })
      .count({ storeName: "counts" })
      .toStream()
      .to("counts", { keySerde: str, valueSerde: Serdes.json<number | null>() });
  },
});
`;

const WORDS = ["alpha", "Alpha", "BETA", "beta", "gamma", "Delta", "delta", "Pi", "rho", "Sigma"];
const T0 = Date.parse("2024-03-01T00:00:00Z");

/** Lines `from`..`from+n-1`, keyed line-<i>, one a minute of event time. */
function lines(from: number, n: number): { key: string; value: string; timestamp: number }[] {
  let s = 17 + from;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s;
  };
  return Array.from({ length: n }, (_, j) => ({
    key: `line-${String(from + j).padStart(5, "0")}`,
    value: Array.from({ length: 1 + (next() % 5) }, () => WORDS[next() % WORDS.length]).join(" "),
    timestamp: T0 + (from + j) * 60_000,
  }));
}

function counts(history: { value: string }[], lower: boolean): Map<string, number> {
  const c = new Map<string, number>();
  for (const l of history) {
    for (const w of (lower ? l.value.toLowerCase() : l.value).split(/[^A-Za-z]+/)) {
      if (w.length > 0) c.set(w, (c.get(w) ?? 0) + 1);
    }
  }
  return c;
}

interface Row {
  partition: number;
  offset: number;
  key: string;
  value: unknown;
}

const consume = (topic: string, where: string[], serde = "string") =>
  jsonLines<Row>(cli(["consume", topic, "--format", "json", "--value-serde", serde, ...where]));

interface Comparison {
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

function setup() {
  const data = tempDir();
  const apps = appDir();
  fs.writeFileSync(path.join(apps, "wc-v1.ts"), app(false));
  fs.writeFileSync(path.join(apps, "wc-v2.ts"), app(true));
  // Workers reach the log through --broker, so their state dir is named (else it would be
  // ./.tributary/state of the test's working directory).
  const state = ["--state-dir", path.join(data, "state")];
  return { data, state, v1: path.join(apps, "wc-v1.ts"), v2: path.join(apps, "wc-v2.ts") };
}

function createTopics(where: string[]): void {
  for (const t of ["lines", "counts", "tokens"]) {
    cli(["topics", "create", t, "--partitions", "2", "--config", "retention.ms=-1", ...where]);
  }
}

function produce(where: string[], rows: { key: string; value: string; timestamp: number }[]) {
  cli(["produce", "lines", "--format", "json", ...where], {
    input: rows.map((r) => JSON.stringify(r)).join("\n"),
  });
}

const committed = (group: string, where: string[]) =>
  describeGroup(group, where)
    .offsets.filter((o) => o.topic === "lines")
    .reduce((n, o) => n + o.offset, 0);

const RUN = ["--commit-interval-ms", "200", "--progress", "none"];

describe("side-by-side reprocessing: run --as, compare, promote, abandon", () => {
  it("compare reports exactly the words whose counts differ; promote leaves the real outputs with no gap and no duplicate", async () => {
    const { data, state, v1, v2 } = setup();
    const broker = await startBroker(data);
    const where = ["--broker", broker.address];
    createTopics(where);
    const part1 = lines(0, 200);
    produce(where, part1);

    const live = spawnCli(["run", v1, ...RUN, ...state, ...where]);
    await eventually("the live app to process part 1", () =>
      committed("wc", where) === part1.length ? true : undefined,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; live run said: ${live.stderr()}`);
    });

    const shadow = spawnCli([
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
    // What compare must say once v2 has caught up: v1 counts "Alpha" and "alpha" apart.
    const liveCounts = counts(part1, false);
    const v2Counts = counts(part1, true);
    const keys = [...new Set([...liveCounts.keys(), ...v2Counts.keys()])].sort();
    const expected = {
      changed: keys.filter(
        (k) => liveCounts.has(k) && v2Counts.has(k) && liveCounts.get(k) !== v2Counts.get(k),
      ),
      onlyInLive: keys.filter((k) => liveCounts.has(k) && !v2Counts.has(k)),
      onlyInVersion: keys.filter((k) => !liveCounts.has(k) && v2Counts.has(k)),
      equal: keys.filter((k) => liveCounts.get(k) === v2Counts.get(k)).length,
    };
    expect(expected.changed.length).toBeGreaterThan(0);
    expect(expected.onlyInLive.length).toBeGreaterThan(0);
    const report = await eventually("v2 to catch up with the live app", () => {
      // the version's record appears once its run has prepared it
      const out = runCli(["compare", "wc", "v2", "--json", "--samples", "1000", ...where]);
      if (out.status !== 0) return undefined;
      const r = JSON.parse(out.stdout) as Comparison;
      const c = r.outputs.find((o) => o.live === "counts")!;
      return r.behindLive === 0 &&
        c.equal + c.changed + c.onlyInLive + c.onlyInVersion === keys.length &&
        c.changed === expected.changed.length
        ? r
        : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}; v2 run said: ${shadow.stderr()}`);
    });
    const c = report.outputs.find((o) => o.live === "counts")!;
    expect(c.samples.changed.map((s) => s.key)).toEqual(expected.changed);
    expect(c.samples.onlyInLive.map((s) => s.key)).toEqual(expected.onlyInLive);
    expect(c.samples.onlyInVersion.map((s) => s.key)).toEqual(expected.onlyInVersion);
    expect(c.equal).toBe(expected.equal);
    const t = report.outputs.find((o) => o.live === "tokens")!;
    const upper = part1.filter((l) => l.value !== l.value.toLowerCase()).map((l) => l.key);
    expect(t.samples.changed.map((s) => s.key)).toEqual(upper.sort());
    expect(t.equal).toBe(part1.length - upper.length);
    // The shadow wrote shadow topics only: the real ones hold the live app's output alone.
    expect(
      consume("tokens", where).every(
        (r) =>
          r.value ===
          part1
            .find((l) => l.key === r.key)!
            .value.split(/[^A-Za-z]+/)
            .filter(Boolean)
            .join(" "),
      ),
    ).toBe(true);

    // Part 2 arrives while both run; then the promote.
    const part2 = lines(200, 150);
    produce(where, part2);
    const promote = spawnCli(["promote", "wc", "v2", ...where]);
    expect(await live.exited).toBe(0);
    const liveEnds = new Map<number, number>();
    for (const r of consume("counts", where)) {
      liveEnds.set(r.partition, Math.max(liveEnds.get(r.partition) ?? 0, r.offset + 1));
    }
    expect(await promote.exited, promote.stderr()).toBe(0);
    expect(promote.stdout()).toMatch(/^promoted wc to v2: wc\.v2 writes /m);
    expect(live.stderr()).toMatch(/being promoted/);
    // The old app's final committed input offsets: where v2 took over.
    const fence = new Map(
      describeGroup("wc", where)
        .offsets.filter((o) => o.topic === "lines")
        .map((o) => [o.partition, o.offset]),
    );

    const part3 = lines(350, 100);
    produce(where, part3);
    const history = [...part1, ...part2, ...part3];
    await eventually("v2 to process part 3 on the real outputs", () =>
      committed("wc.v2", where) === history.length &&
      consume("tokens", where).length >= history.length
        ? true
        : undefined,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; v2 run said: ${shadow.stderr()}`);
    });

    // Per input record: every line once in the real tokens topic, written by v1 below the
    // fence and by v2 (lower-cased) from it on.
    const input = consume("lines", where);
    const tokens = consume("tokens", where);
    expect(tokens.length).toBe(history.length);
    const byKey = new Map(tokens.map((r) => [r.key, r.value as string]));
    expect(byKey.size).toBe(history.length);
    for (const r of input) {
      const fromV2 = r.offset >= fence.get(r.partition)!;
      const text = fromV2 ? (r.value as string).toLowerCase() : (r.value as string);
      expect(byKey.get(r.key), `${r.key} at lines-${r.partition}@${r.offset}`).toBe(
        text
          .split(/[^A-Za-z]+/)
          .filter(Boolean)
          .join(" "),
      );
    }
    // Per key sequence of counts: what v2 wrote after the live app's last record goes up
    // strictly (no duplicate), starts above v2's count before the fence (no gap: its state
    // carried the history), and ends at the reference over the whole history.
    const beforeFence = counts(
      input
        .filter((r) => r.offset < fence.get(r.partition)!)
        .map((r) => ({ value: r.value as string })),
      true,
    );
    const finalCounts = counts(history, true);
    const written = new Map<string, number[]>();
    for (const r of consume("counts", where, "json").sort((a, b) => a.offset - b.offset)) {
      if (r.offset < liveEnds.get(r.partition)!) continue;
      written.set(r.key, [...(written.get(r.key) ?? []), r.value as number]);
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

  it("abandon removes the version's topics, group, state and record; bad input names the flag or what exists", async () => {
    const { data, state, v1, v2 } = setup();
    const broker = await startBroker(data);
    const where = ["--broker", broker.address];
    const stateDir = path.join(data, "state");
    createTopics(where);
    produce(where, lines(0, 40));
    const batch = runCli(["run", v1, "--until-caught-up", ...RUN, ...state, ...where]);
    expect(batch.status, batch.stderr).toBe(0);

    // Bad input, before any version exists.
    const badAs = runCli(["run", v2, "--as", "v 2", "--from", "earliest", ...where]);
    expect(badAs.status).toBe(2);
    expect(expectOneLineError(badAs)).toMatch(/--as v 2/);
    const fromAlone = runCli(["run", v2, "--from", "earliest", ...where]);
    expect(fromAlone.status).toBe(2);
    expect(expectOneLineError(fromAlone)).toMatch(/--from .*--as/);
    const badFrom = runCli(["run", v2, "--as", "v2", "--from", "yesterday", ...where]);
    expect(badFrom.status).toBe(2);
    expect(expectOneLineError(badFrom)).toMatch(/--from yesterday/);
    const noFrom = runCli(["run", v2, "--as", "v2", ...where]);
    expect(noFrom.status).toBe(2);
    expect(expectOneLineError(noFrom)).toMatch(/--from is needed/);
    const none = runCli(["compare", "wc", "v2", ...where]);
    expect(none.status).toBe(1);
    expect(expectOneLineError(none)).toMatch(
      /no version v2 of app wc: app wc has no side-by-side version/,
    );

    const shadow = runCli([
      "run",
      v2,
      "--as",
      "v2",
      "--from",
      "2024-03-01T00:20:00Z",
      "--until-caught-up",
      "--state-dir",
      stateDir,
      ...RUN,
      ...where,
    ]);
    expect(shadow.status, shadow.stderr).toBe(0);
    // From 00:20 on: lines 20..39 only.
    expect(
      consume("tokens.v2", where)
        .map((r) => r.key)
        .sort(),
    ).toEqual(lines(20, 20).map((l) => l.key));
    const unknown = runCli(["promote", "wc", "v3", ...where]);
    expect(unknown.status).toBe(1);
    expect(expectOneLineError(unknown)).toMatch(
      /no version v3 of app wc: app wc has v2 \(shadow\)/,
    );
    const topicsBefore = cli(["topics", "list", ...where]).split("\n");
    expect(topicsBefore).toEqual(
      expect.arrayContaining([
        "counts.v2",
        "tokens.v2",
        "wc.v2-words-repartition",
        "wc.v2-counts-changelog",
      ]),
    );
    expect(fs.existsSync(path.join(stateDir, "wc.v2"))).toBe(true);

    const out = cli(["abandon", "wc", "v2", "--state-dir", stateDir, ...where]);
    expect(out).toMatch(/^abandoned wc v2/);
    const topicsAfter = cli(["topics", "list", ...where]).split("\n");
    expect(topicsAfter.filter((t) => t.includes(".v2"))).toEqual([]);
    expect(topicsAfter).toEqual(
      expect.arrayContaining(["counts", "tokens", "wc-words-repartition"]),
    );
    expect(fs.existsSync(path.join(stateDir, "wc.v2"))).toBe(false);
    expect(fs.existsSync(path.join(stateDir, "wc"))).toBe(true);
    const groups = JSON.parse(cli(["groups", "list", "--format", "json", ...where])) as {
      groupId: string;
    }[];
    expect(groups.map((g) => g.groupId)).not.toContain("wc.v2");
    const again = runCli(["abandon", "wc", "v2", ...where]);
    expect(again.status).toBe(1);
    expect(expectOneLineError(again)).toMatch(/no version v2 of app wc/);
  });
});
