import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  UPPER_APP,
  appDir,
  cleanup,
  cli,
  eventually,
  runCli,
  spawnCli,
  tempDir,
} from "./helpers.js";

afterEach(cleanup);

const DROPPING = `
import { Serdes, TimeWindows, defineApp } from "@tributary/streams";
const str = Serdes.string();
export default defineApp({
  // A per-minute count with no grace (drops records older than its window) and a
  // mapValues that throws on every fifth record (19 of the first 95).
  applicationId: "drops",
  topology: (b) => {
    b.stream<string, string>("clicks", { keySerde: str, valueSerde: str })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 0))
      .count()
      .toStream()
      .map((w, n) => [w.key, String(n)] as const)
      .to("counts", { keySerde: str, valueSerde: str });
    b.stream<string | null, { n: number }>("in", { keySerde: str, valueSerde: Serdes.json() })
      .mapValues((v) => {
        if (v.n % 5 === 0 && v.n < 95) throw new Error("no multiples of five");
        return String(v.n);
      })
      .to("out", { keySerde: str, valueSerde: str });
  },
});
`;

describe("tributary run reports what it did not turn into output", () => {
  it("dead-lettered and late records are counted in the progress line and the summary; --fail-on-drop exits 1", () => {
    const data = tempDir();
    const apps = appDir();
    const file = path.join(apps, "drops.ts");
    fs.writeFileSync(file, DROPPING);
    for (const t of ["in", "out", "clicks", "counts"]) cli(["topics", "create", t, "--data", data]);
    const input = Array.from({ length: 100 }, (_, n) => JSON.stringify({ value: { n } }));
    cli(["produce", "in", "--format", "json", "--value-serde", "json", "--data", data], {
      input: input.join("\n"),
    });
    cli(["produce", "in", "--data", data], { input: "not json\n" });
    // Ten minutes in, then 62 clicks from the first minute (late: its window closed), then
    // 38 on time.
    const t0 = Date.now() - 3_600_000;
    const clicks = [
      { key: "u", value: "x", timestamp: t0 + 600_000 },
      ...Array.from({ length: 62 }, (_, i) => ({ key: "u", value: "x", timestamp: t0 + i })),
      ...Array.from({ length: 38 }, (_, i) => ({
        key: "u",
        value: "x",
        timestamp: t0 + 600_001 + i,
      })),
    ];
    cli(["produce", "clicks", "--format", "json", "--data", data], {
      input: clicks.map((c) => JSON.stringify(c)).join("\n"),
    });

    const args = ["run", file, "--until-caught-up", "--progress", "plain", "--data", data];
    const failing = runCli([...args, "--fail-on-drop"]);
    expect(failing.status, failing.stderr).toBe(1);
    expect(failing.stderr).toMatch(
      /stopped app drops: processed 202 records; 20 dead-lettered to 'drops-dlq', 1 of them undecodable; 62 dropped as late \(their window had closed\)/,
    );
    expect(failing.stderr).toMatch(/progress: .*processed=202 dead-lettered=20 dropped-late=62 /);
    expect(failing.stderr.trim().split("\n").at(-1)).toMatch(
      /^tributary: --fail-on-drop: 82 records did not make it to the output/,
    );
    expect(cli(["consume", "drops-dlq", "--data", data]).split("\n").filter(Boolean)).toHaveLength(
      20,
    );

    // Without the flag the same counts are reported and the run exits 0.
    cli(["reset", "--app", "drops", "--to-earliest", "--data", data]);
    const passing = runCli(args);
    expect(passing.status, passing.stderr).toBe(0);
    expect(passing.stderr).toMatch(
      /20 dead-lettered to 'drops-dlq', 1 of them undecodable; 62 dropped as late/,
    );
  });

  it("shows the real lag while the only worker waits in a restart backoff", async () => {
    const data = tempDir();
    const apps = appDir();
    const marker = path.join(apps, "broken");
    fs.writeFileSync(marker, "");
    // Loads in the supervisor; every worker process dies at start while the marker exists.
    fs.writeFileSync(
      path.join(apps, "upper.ts"),
      `${UPPER_APP}
import fs from "node:fs";
if (process.argv.includes("_worker") && fs.existsSync(${JSON.stringify(marker)})) throw new Error("down");
`,
    );
    cli(["topics", "create", "in", "--partitions", "2", "--data", data]);
    cli(["topics", "create", "out", "--partitions", "2", "--data", data]);
    cli(["produce", "in", "--data", data], {
      input: Array.from({ length: 1000 }, (_, i) => `v${i}`).join("\n"),
    });
    const run = spawnCli([
      "run",
      path.join(apps, "upper.ts"),
      "--progress",
      "plain",
      "--max-restarts",
      "1000",
      "--data",
      data,
    ]);
    await eventually("a progress line with the whole input as lag while the worker is down", () => {
      const down = run.stderr().indexOf("restarting in");
      if (down < 0) return undefined;
      return /progress: workers=\d\/1 .* lag=1000\b/.test(run.stderr().slice(down))
        ? true
        : undefined;
    });
    fs.rmSync(marker);
    await eventually("the lag to fall to 0 once the worker runs", () =>
      /progress: workers=1\/1 .*processed=1000 .*lag=0\b/.test(run.stderr()) ? true : undefined,
    );
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  });
});
