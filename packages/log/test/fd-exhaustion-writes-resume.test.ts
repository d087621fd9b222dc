import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ChildProc, FIXTURES_DIR, LOG_PACKAGE_DIR, tempDir } from "./broker-helpers.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("a partition that runs out of file descriptors", () => {
  it("refuses the roll with a retriable TOO_MANY_OPEN_FILES and takes appends again once descriptors are free, in order, nothing lost", async () => {
    const dir = tempDir("emfile");
    dirs.push(dir);
    // A real EMFILE from the kernel: the child runs under a low descriptor limit.
    const child = new ChildProc(
      spawn(
        "prlimit",
        [
          "--nofile=256:256",
          process.execPath,
          "--import",
          "tsx",
          path.join(FIXTURES_DIR, "emfile-roller.ts"),
          path.join(dir, "t-0"),
        ],
        { cwd: LOG_PACKAGE_DIR, stdio: ["ignore", "pipe", "pipe"] },
      ),
    );
    child.child.on("error", (err) => {
      throw new Error(`this test runs its child under prlimit (util-linux): ${err.message}`);
    });
    const { code } = await child.exited;
    expect(code, child.stderr.join("")).toBe(0);
    const events = child.events<Record<string, unknown>>();
    const failed = events.find((e) => e.event === "failed")!;
    expect(failed).toMatchObject({ code: "TOO_MANY_OPEN_FILES", retriable: true });
    expect(failed.message).toMatch(/EMFILE/);
    expect(failed.message).toMatch(/ulimit -n/);
    expect(failed.next as number).toBeGreaterThan(0);
    expect(events.find((e) => e.event === "still-refused")).toMatchObject({
      code: "TOO_MANY_OPEN_FILES",
      end: failed.next,
    });
    const done = events.find((e) => e.event === "done")!;
    const expected = Array.from({ length: done.next as number }, (_, i) => i);
    expect(done.seqs).toEqual(expected);
    expect(done.reopened).toEqual(expected);
  });
});
