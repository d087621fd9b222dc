import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { REPO } from "./helpers.js";

describe("npx tributary inside the repository", () => {
  it("runs the workspace's CLI (the root depends on @tributary/cli, so npm links its bin)", () => {
    for (const cwd of [REPO, `${REPO}/examples/word-count`]) {
      // --no: never fetch a package called "tributary" from the registry instead.
      const r = spawnSync("npx", ["--no", "--", "tributary", "--help"], {
        cwd,
        encoding: "utf8",
        timeout: 60_000,
      });
      expect({ cwd, status: r.status, stderr: r.stderr }).toEqual({ cwd, status: 0, stderr: "" });
      expect(r.stdout).toMatch(/^Usage: tributary /);
    }
  });
});
