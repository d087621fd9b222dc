import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  UPPER_APP,
  appDir,
  cleanup,
  cli,
  eventually,
  expectOneLineError,
  jsonLines,
  runCli,
  spawnCli,
  tempDir,
} from "./helpers.js";

afterEach(cleanup);

describe("tributary run", () => {
  it("restarts a worker killed with SIGKILL, and stops every worker cleanly on SIGTERM", async () => {
    const data = tempDir();
    const apps = appDir();
    fs.writeFileSync(path.join(apps, "upper.ts"), UPPER_APP);
    cli(["topics", "create", "in", "--partitions", "2", "--data", data]);
    cli(["topics", "create", "out", "--partitions", "2", "--data", data]);
    const run = spawnCli(["run", path.join(apps, "upper.ts"), "--workers", "2", "--data", data]);
    const pids = await eventually("both workers to get tasks", () => {
      const found = [...run.stderr().matchAll(/worker (\d) \(pid (\d+)\): tasks/g)].map((m) =>
        Number(m[2]),
      );
      return new Set(found).size >= 2 ? found : undefined;
    });

    process.kill(pids[0]!, "SIGKILL");
    await eventually("the supervisor to restart the worker", () =>
      /worker \d was killed by SIGKILL; restarting/.test(run.stderr()) ? true : undefined,
    );
    await eventually("a new worker process", () => {
      const all = [...run.stderr().matchAll(/\(pid (\d+)\): tasks/g)].map((m) => Number(m[1]));
      return all.some((p) => !pids.includes(p)) ? true : undefined;
    });

    // The app still works with the restarted worker.
    cli(["produce", "in", "--data", data], { input: "a\nb\nc\n" });
    await eventually("the output", () => {
      const out = cli(["consume", "out", "--data", data]).split("\n").filter(Boolean).sort();
      return out.join(",") === "A,B,C" ? true : undefined;
    });

    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    expect(run.stderr()).toMatch(/stopped app upper/);
    const g = JSON.parse(
      cli(["groups", "describe", "upper", "--format", "json", "--data", data]),
    ) as { members: unknown[] };
    expect(g.members).toHaveLength(0);
    // Its broker stopped with it: the data dir is free again.
    expect(fs.existsSync(path.join(data, "broker.json"))).toBe(false);
  });

  it("gives up with the worker's own error when a worker keeps dying", () => {
    const data = tempDir();
    const apps = appDir();
    // Loads and compiles in the supervisor, throws in every worker process.
    fs.writeFileSync(
      path.join(apps, "dies.ts"),
      `${UPPER_APP}\nif (process.argv.includes("_worker")) throw new Error("boom in the worker");\n`,
    );
    cli(["topics", "create", "in", "--data", data]);
    cli(["topics", "create", "out", "--data", data]);
    const r = runCli(["run", path.join(apps, "dies.ts"), "--max-restarts", "2", "--data", data]);
    expect(r.status).toBe(1);
    const last = r.stderr.trim().split("\n").at(-1)!;
    expect(last).toMatch(
      /^tributary: worker 0 exited with code 1 3 times in a row: .*boom in the worker/,
    );
    expect(r.stderr.match(/restarting in/g)).toHaveLength(2);
    // Each worker process logged its failure as a JSON line, as a log shipper reads it.
    const failed = jsonLines<{ event: string; worker: number; msg: string }>(
      r.stderr
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .join("\n"),
    ).filter((l) => l.event === "failed");
    expect(failed).toHaveLength(3);
    for (const f of failed)
      expect(f).toMatchObject({ worker: 0, msg: expect.stringMatching(/boom in the worker/) });
  });

  it("refuses a missing app file, a file that does not compile, and missing topics, in one line", () => {
    const data = tempDir();
    const apps = appDir();
    fs.writeFileSync(
      path.join(apps, "broken.ts"),
      "export default defineApp({ applicationId: 'x', topology: (b) => { b.stream( };\n",
    );
    fs.writeFileSync(path.join(apps, "no-default.ts"), "export const x = 1;\n");
    fs.writeFileSync(path.join(apps, "upper.ts"), UPPER_APP);
    const cases: [string[], RegExp][] = [
      [["run", path.join(apps, "missing.ts"), "--data", data], /does not exist/],
      [
        ["run", path.join(apps, "broken.ts"), "--data", data],
        /cannot load .*broken\.ts: syntax error at line 1/,
      ],
      [["describe", path.join(apps, "broken.ts")], /cannot load .*broken\.ts: syntax error/],
      [["describe", path.join(apps, "no-default.ts")], /does not export an app by default/],
      [["run", path.join(apps, "upper.ts"), "--data", data], /topic 'in' does not exist/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(args);
      expect(r.status, args.join(" ")).toBe(1);
      expect(expectOneLineError(r)).toMatch(message);
    }
    const usage = runCli(["run", path.join(apps, "upper.ts"), "--workers", "0", "--data", data]);
    expect(usage.status).toBe(2);
    expectOneLineError(usage);
  });
});
