import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, CLI_DIR, cleanup, cli, tempDir } from "./helpers.js";

afterEach(cleanup);

/** Runs the command with its stdout pipe already closed by the reader, as `| head` does. */
function runIntoClosedPipe(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: CLI_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.destroy();
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stderr })));
}

describe("output piped into a reader that stops early (| head)", () => {
  it("topics describe and groups describe exit 0 quietly instead of crashing with EPIPE", async () => {
    const data = tempDir();
    cli(["topics", "create", "t", "--partitions", "3", "--data", data]);
    cli(["produce", "t", "--data", data], { input: "a\nb\nc\n" });
    cli(["consume", "t", "--group", "g", "--data", data]);
    for (const args of [
      ["topics", "describe", "t"],
      ["groups", "describe", "g"],
      ["topics", "list"],
    ]) {
      const r = await runIntoClosedPipe([...args, "--data", data]);
      expect({ args, ...r }).toEqual({ args, code: 0, stderr: "" });
    }
  });
});
