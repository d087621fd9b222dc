import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const DIST = path.resolve(import.meta.dirname, "../dist");

// A resolve hook, registered before the entry loads, that fails any import of a test-only
// package: importing the entry then fails if anything it loads reaches vitest or tsx.
const GUARD = `
import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent(\`
  export async function resolve(specifier, context, next) {
    if (/^(vitest|tsx)(\\\\/|$)/.test(specifier)) throw new Error("test-only import: " + specifier + " from " + context.parentURL);
    return next(specifier, context);
  }\`));
`;

function importWithGuard(entry: string) {
  return spawnSync(
    process.execPath,
    [
      "--import",
      `data:text/javascript,${encodeURIComponent(GUARD)}`,
      "--input-type=module",
      "-e",
      `await import(${JSON.stringify(entry)});`,
    ],
    { encoding: "utf8" },
  );
}

describe("the built entries", () => {
  it("the main entry loads without vitest or tsx", () => {
    const r = importWithGuard(path.join(DIST, "index.js"));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("the guard catches the testing entry, which does import vitest", () => {
    const r = importWithGuard(path.join(DIST, "testing/index.js"));
    expect(r.stderr).toMatch(/test-only import: vitest/);
    expect(r.status).not.toBe(0);
  });
});
