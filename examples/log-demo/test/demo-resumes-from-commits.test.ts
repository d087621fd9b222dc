import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";

// The app `npm start` runs, as a real process on its own data directory, twice.
const main = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-demo-"));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

function run(): string {
  return execFileSync(process.execPath, [main], {
    env: { ...process.env, TRIBUTARY_DATA: dataDir },
    encoding: "utf8",
    timeout: 240_000, // a hang guard, not an expected duration (loaded machines)
  });
}

function offsets(output: string): number[] {
  return [...output.matchAll(/demo-orders-\d: offset (\d+), log end (\d+), lag (\d+)/g)].map(
    (m) => {
      expect(m[3]).toBe("0");
      expect(m[1]).toBe(m[2]);
      return Number(m[1]);
    },
  );
}

it("consumes every produced order, then resumes from its committed offsets on a second run", () => {
  const first = run();
  expect(first).toMatch(/group 'demo-billing' consumed 5000 orders/);
  const firstOffsets = offsets(first);
  expect(firstOffsets).toHaveLength(3);
  expect(firstOffsets.reduce((a, b) => a + b, 0)).toBe(5000);

  const second = run();
  // Only the 5,000 new orders: the group starts at what the first run committed.
  expect(second).toMatch(/group 'demo-billing' consumed 5000 orders/);
  expect(offsets(second).reduce((a, b) => a + b, 0)).toBe(10_000);
});
