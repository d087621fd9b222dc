import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { workerExecArgv } from "../src/worker-node-flags.js";
import { UPPER_APP, appDir, cleanup, cli, eventually, spawnCli, tempDir } from "./helpers.js";

afterEach(cleanup);

/** Starts `tributary run` with one worker and returns the worker process's command line. */
async function workerCommandLine(env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const data = tempDir();
  const apps = appDir();
  fs.writeFileSync(path.join(apps, "upper.ts"), UPPER_APP);
  cli(["topics", "create", "in", "--data", data]);
  cli(["topics", "create", "out", "--data", data]);
  const run = spawnCli(["run", path.join(apps, "upper.ts"), "--workers", "1", "--data", data], {
    env,
  });
  const pid = await eventually("the worker to get tasks", () => {
    const m = /worker 0 \(pid (\d+)\): tasks/.exec(run.stderr());
    return m === null ? undefined : Number(m[1]);
  });
  // Linux only, as the rest of these tests (they SIGKILL real processes).
  const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  run.child.kill("SIGTERM");
  expect(await run.exited).toBe(0);
  return argv;
}

describe("tributary run's worker processes", () => {
  it("start with a 64 MiB young generation semi-space", async () => {
    const argv = await workerCommandLine({ NODE_OPTIONS: "" });
    expect(argv).toContain("--max-semi-space-size=64");
    expect(argv).toContain("_worker");
  });

  it("keep the semi-space size the user chose in NODE_OPTIONS", async () => {
    const argv = await workerCommandLine({ NODE_OPTIONS: "--max-semi-space-size=32" });
    expect(argv.filter((a) => a.includes("semi-space"))).toEqual([]);
    expect(argv).toContain("_worker");
  });

  it("keep a size given on run's own node command line, and its other node flags", () => {
    const own = ["--import", "tsx", "--max-semi-space-size=8"];
    expect(workerExecArgv(own, undefined)).toEqual(own);
    expect(workerExecArgv(["--max_semi_space_size", "8"], "")).toEqual([
      "--max_semi_space_size",
      "8",
    ]);
    expect(workerExecArgv(["--import", "tsx"], "--no-warnings")).toEqual([
      "--import",
      "tsx",
      "--max-semi-space-size=64",
    ]);
  });
});
