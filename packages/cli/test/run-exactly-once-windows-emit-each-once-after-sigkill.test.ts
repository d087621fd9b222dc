import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { appDir, cleanup, cli, eventually, jsonLines, spawnCli, tempDir } from "./helpers.js";
import { feedLines, killWorker, workerPids } from "./exactly-once-scenario.js";
import { describeGroup } from "./reprocess-scenario.js";

afterEach(cleanup);

const MINUTE = 60_000;
/** Event time months behind the wall clock (the changelogs' retention runs by wall clock). */
const START = Date.UTC(2026, 4, 1, 12, 0, 0);
const USERS = 30;
const VIEWS = 12_000;

const APP = `
import { Serdes, TimeWindows, defineApp, untilWindowCloses } from "@tributary/streams";
const str = Serdes.string();
export default defineApp({
  applicationId: "eos-windows",
  topology: (b) => {
    b.stream<string, { n: number }>("views", { keySerde: str, valueSerde: Serdes.json() })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 10_000))
      .count({ storeName: "per-minute" })
      .suppress(untilWindowCloses())
      .toStream()
      .map((w, views) => [w.key + "@" + w.window.start, views])
      .to("minutes", { keySerde: str, valueSerde: Serdes.json<number>() });
  },
});
`;

interface View {
  key: string;
  timestamp: number;
}

/** Views in time order, about 1 s apart over 3+ hours, then one per user 3 minutes later:
 * every earlier minute closes on every partition, none is late. */
function views(): View[] {
  const out: View[] = [];
  for (let i = 0; i < VIEWS; i++) {
    out.push({ key: `user-${(i * 7) % USERS}`, timestamp: START + i * 1000 });
  }
  const end = START + VIEWS * 1000 + 3 * MINUTE;
  for (let u = 0; u < USERS; u++) out.push({ key: `user-${u}`, timestamp: end });
  return out;
}

/** Per `user@windowStart`, the views in it, computed from the input alone (the last
 * views' minutes never close, so they are left out). */
function reference(input: readonly View[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of input.slice(0, VIEWS)) {
    const k = `${v.key}@${Math.floor(v.timestamp / MINUTE) * MINUTE}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/**
 * A windowed count with suppress over history stamped months ago, run by `tributary run
 * --workers 2 --processing-guarantee exactly_once`, its workers SIGKILLed while they
 * process: read_committed, every closed minute is emitted exactly once with the count
 * computed from the input, and nothing is reported dropped as late (a stream time
 * restored ahead of the committed input would drop the replayed views).
 */
describe("exactly-once windows across worker SIGKILLs", () => {
  it("emits each closed minute once with the reference count", { timeout: 600_000 }, async () => {
    const data = tempDir("tributary-eos-windows-");
    const where = ["--data", data];
    const dir = appDir();
    fs.writeFileSync(path.join(dir, "app.ts"), APP);
    for (const t of ["views", "minutes"]) {
      cli(["topics", "create", t, "--partitions", "2", "--config", "retention.ms=-1", ...where]);
    }
    const input = views();
    const run = spawnCli([
      "run",
      path.join(dir, "app.ts"),
      "--workers",
      "2",
      "--processing-guarantee",
      "exactly_once",
      "--commit-interval-ms",
      "100",
      "--max-restarts",
      "1000",
      "--progress",
      "none",
      "--state-dir",
      tempDir("tributary-eos-windows-state-"),
      ...where,
    ]);
    await eventually("two workers with tasks", () =>
      workerPids(run.stderr()).size === 2 ? true : undefined,
    );
    // The views flow while the workers run, so each kill lands with a transaction open.
    const producer = spawnCli(
      [
        "produce",
        "views",
        "--format",
        "json",
        "--value-serde",
        "json",
        "--batch-size",
        "50",
        ...where,
      ],
      { stdin: "pipe" },
    );
    const feeding = feedLines(
      producer.child.stdin!,
      input.map((v, n) => JSON.stringify({ key: v.key, value: { n }, timestamp: v.timestamp })),
    );
    const committed = () =>
      describeGroup("eos-windows", where)
        .offsets.filter((o) => o.topic === "views")
        .reduce((n, o) => n + o.offset, 0);
    // One kill per worker slot: each kill cost ~45 s here before the restarted worker had tasks.
    for (let k = 0; k < 2; k++) {
      await eventually(`the workers to commit ${(k + 1) * 4000} views`, () =>
        committed() >= (k + 1) * 4000 ? true : undefined,
      );
      await killWorker(run, k % 2);
    }
    await feeding;
    expect(await producer.exited, producer.stderr()).toBe(0);
    await eventually(
      "every view processed and committed",
      () => (committed() === input.length ? true : undefined),
      300_000,
    );
    run.child.kill("SIGTERM");
    expect(await run.exited, run.stderr().slice(-3000)).toBe(0);
    // A stream time restored ahead of the committed input would drop replayed views as late.
    const drops = [...run.stderr().matchAll(/(\d+) dropped as late/g)].map((m) => m[1]);
    expect(drops.length).toBeGreaterThan(0);
    expect(drops.filter((n) => n !== "0")).toEqual([]);

    const got = new Map<string, number[]>();
    for (const r of jsonLines<{ key: string; value: number }>(
      cli(
        [
          "consume",
          "minutes",
          "--format",
          "json",
          "--value-serde",
          "json",
          "--isolation",
          "read_committed",
          ...where,
        ],
        {},
      ),
    )) {
      got.set(r.key, [...(got.get(r.key) ?? []), r.value]);
    }
    const want = reference(input);
    const twice = [...got].filter(([, v]) => v.length > 1);
    expect(twice).toEqual([]);
    expect(new Map([...got].map(([k, v]) => [k, v[0]!]))).toEqual(want);
  });
});
