import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { appDir, cleanup, cli, expectOneLineError, runCli, tempDir } from "./helpers.js";

afterEach(cleanup);

// Throws on every fifth record: 8 of the 40 produced go to the dead-letter topic.
const THROWING = `
import { Serdes, defineApp } from "@tributary/streams";
const str = Serdes.string();
export default defineApp({
  applicationId: "fives",
  topology: (b) => {
    b.stream<string, { n: number }>("in", { keySerde: str, valueSerde: Serdes.json() })
      .mapValues((v) => {
        if (v.n % 5 === 0) throw new Error("no multiples of five");
        return String(v.n);
      })
      .to("out", { keySerde: str, valueSerde: str });
  },
});
`;

interface LogLine {
  level: number;
  msg: string;
  worker: number;
  app: string;
  pid: number;
  event?: string;
  task?: string;
  deadLettered?: number;
  processed?: number;
}

/** A data dir with topics in/out (2 partitions) and 40 keyed records, and the app file. */
function scenario(): { data: string; file: string } {
  const data = tempDir();
  const file = path.join(appDir(), "fives.ts");
  fs.writeFileSync(file, THROWING);
  for (const t of ["in", "out"]) cli(["topics", "create", t, "--partitions", "2", "--data", data]);
  const input = Array.from({ length: 40 }, (_, n) =>
    JSON.stringify({ key: `k${n}`, value: { n } }),
  );
  cli(["produce", "in", "--format", "json", "--value-serde", "json", "--data", data], {
    input: input.join("\n"),
  });
  return { data, file };
}

describe("worker processes of tributary run log with pino", () => {
  it("writes JSON lines (the default off a terminal) that carry the worker, app, task and counts", () => {
    const { data, file } = scenario();
    const r = runCli(["run", file, "--until-caught-up", "--progress", "none", "--data", data]);
    expect(r.status, r.stderr).toBe(0);
    // The supervisor's own lines stay text (progress, summary); the workers' are JSON.
    const workerLines = r.stderr.split("\n").filter((l) => l.startsWith("{"));
    expect(workerLines.length).toBeGreaterThan(0);
    const logs = workerLines.map((l) => JSON.parse(l) as LogLine);
    for (const l of logs) {
      expect(l).toMatchObject({ worker: 0, app: "fives" });
      expect(typeof l.pid).toBe("number");
      expect(typeof l.level).toBe("number");
    }
    const drops = logs.filter((l) => l.event === "records-dropped");
    expect(drops.length).toBeGreaterThan(0);
    for (const d of drops) {
      expect(d.level).toBe(40); // warn
      expect(d.task).toMatch(/^0_[01]$/);
      expect(d.msg).toMatch(/dead-lettered to 'fives-dlq'/);
    }
    expect(drops.reduce((n, d) => n + d.deadLettered!, 0)).toBe(8);
    const stopped = logs.filter((l) => l.event === "stopped");
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toMatchObject({ processed: 40, deadLettered: 8, droppedLate: 0 });
    // The summary still says it in words.
    expect(r.stderr).toMatch(/stopped app fives: processed 40 records; 8 dead-lettered/);
  });

  it("prints readable lines with --log-format pretty, and refuses an unknown format", () => {
    const { data, file } = scenario();
    const args = ["run", file, "--until-caught-up", "--progress", "none", "--data", data];
    const r = runCli([...args, "--log-format", "pretty"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/^\{/m);
    const drops = r.stderr.split("\n").filter((l) => l.includes("WARN"));
    expect(drops.length).toBeGreaterThan(0);
    for (const line of drops) {
      expect(() => JSON.parse(line)).toThrow();
      expect(line).toMatch(
        /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: worker 0: task 0_[01]: \d+ records? dead-lettered to 'fives-dlq', 0 dropped as late .*\{"event":"records-dropped","task":"0_[01]"/,
      );
    }
    expect(r.stderr).toMatch(
      /INFO: worker 0: stopped: processed 40, 8 dead-lettered, 0 dropped as late/,
    );

    const bad = runCli([...args, "--log-format", "yaml"]);
    expect(expectOneLineError(bad)).toMatch(/--log-format yaml: expected one of json, pretty/);
  });
});
