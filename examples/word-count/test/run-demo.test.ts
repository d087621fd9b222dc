import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const DEMO = path.resolve(import.meta.dirname, "../src/run-demo.ts");
const TSX = path.resolve(import.meta.dirname, "../../../node_modules/tsx/dist/loader.mjs");

describe("word count demo (npm start)", () => {
  it("runs broker, produce, run --workers 2 --until-caught-up and consume, and its counts equal the reference", () => {
    const r = spawnSync(process.execPath, ["--import", `file://${TSX}`, DEMO], {
      env: { ...process.env, LINES: "300" },
      encoding: "utf8",
      timeout: 240_000, // a hang guard: the test waits on the demo finishing
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/the final counts equal a reference computed over the same 300 lines/);
    expect(r.stderr).toMatch(/\$ tributary run .*--workers 2 --until-caught-up/);
    expect(r.stderr).not.toMatch(/"level"/);
  });
});
