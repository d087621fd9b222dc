import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import semver from "semver";
import { afterAll, describe, expect, it } from "vitest";
import { REPO, cleanup, tempDir } from "./helpers.js";

/**
 * What a user outside this repository gets: every package packed with `npm pack` (as
 * `npm publish` would pack it), a project written by `tributary init`, the tarballs
 * installed into it (their other dependencies from the package registry), its own test
 * run by its own vitest, and its app run end to end by `npx tributary`.
 */
const PACKAGES = ["log", "state", "streams", "kafka", "console", "connect", "cli"] as const;
const BIN = path.join(REPO, "packages/cli/dist/bin.js");

interface Manifest {
  name: string;
  version: string;
  license?: string;
  repository?: unknown;
  publishConfig?: unknown;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/**
 * Declared floors above what the chain needs, each checked by running on Node 20: the
 * owner of these two, @platformatic/kafka, declares Node >= 20.19.4 and depends on them;
 * the Kafka suite (CI, Node 20) runs through both.
 */
const DECLARED_ABOVE_NEED = new Set(["@platformatic/dynamic-buffer", "@platformatic/wasm-utils"]);
/** Browser bundles the console serves as files: Node.js never runs them or their dependencies. */
const BROWSER_ONLY = new Set(["mermaid", "uplot"]);

function run(cmd: string, args: string[], cwd: string, input = ""): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, {
    cwd,
    input,
    encoding: "utf8",
    timeout: 300_000,
    maxBuffer: 64 * 1024 * 1024,
    // The scratch project must not see the repository's node_modules or npm settings.
    env: { ...process.env, npm_config_workspace: "", npm_config_workspaces: "" },
  });
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} in ${cwd} exited ${r.status}:\n${r.stdout}\n${r.stderr}`,
    );
  }
  return r;
}

function manifest(dir: string): Manifest {
  return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as Manifest;
}

function filesUnder(dir: string, suffix: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(suffix))
    .map((f) => path.join(dir, f));
}

afterAll(cleanup);

describe("the packages, installed outside the repository", () => {
  it("pack with a license and README, install from their tarballs into a `tributary init` project, pass its test and run its app with npx tributary", () => {
    const work = tempDir("tributary-packages-");
    expect(path.relative(REPO, work).startsWith("..")).toBe(true);

    const tarballs: string[] = [];
    for (const p of PACKAGES) {
      const dir = path.join(REPO, "packages", p);
      const m = manifest(dir);
      expect(m.license, `${m.name} license`).toBe("Apache-2.0");
      expect(m.repository, `${m.name} repository`).toBeDefined();
      expect(m.publishConfig, `${m.name} publishConfig`).toEqual({ access: "public" });
      // Types-only packages are for building, never for running.
      expect(Object.keys(m.dependencies ?? {}).filter((d) => d.startsWith("@types/"))).toEqual([]);
      for (const [d, range] of Object.entries(m.dependencies ?? {})) {
        if (d.startsWith("@tributary/")) expect(range, `${m.name} -> ${d}`).toMatch(/^\^/);
      }
      const out = run("npm", ["pack", "--json", "--pack-destination", work], dir);
      const [packed] = JSON.parse(out.stdout) as { filename: string; files: { path: string }[] }[];
      const shipped = packed!.files.map((f) => f.path);
      for (const f of ["LICENSE", "README.md", "package.json", "dist/index.js"]) {
        if (p === "cli" && f === "dist/index.js") continue;
        expect(shipped, `${m.name} ships ${f}`).toContain(f);
      }
      expect(shipped.some((f) => f.startsWith("test/"))).toBe(false);
      tarballs.push(path.join(work, packed!.filename));
    }

    // A new project, written by the command itself, then the tarballs installed into it.
    const app = path.join(work, "my-app");
    run(process.execPath, [BIN, "init", app], work);
    run("npm", ["install", "--no-audit", "--no-fund", ...tarballs], app);
    const installed = (p: string) => path.join(app, "node_modules/@tributary", p);

    // Its own test, importing the test driver from the installed package.
    const test = run("npm", ["test"], app);
    expect(test.stdout).toMatch(/1 passed/);

    // Every source map resolves to a file the package ships.
    for (const p of PACKAGES) {
      const maps = filesUnder(path.join(installed(p), "dist"), ".js.map");
      expect(maps.length, `${p} has source maps`).toBeGreaterThan(0);
      for (const map of maps) {
        const { sources } = JSON.parse(fs.readFileSync(map, "utf8")) as { sources: string[] };
        for (const s of sources) {
          const file = path.resolve(path.dirname(map), s);
          expect(fs.existsSync(file), `${map} -> ${s}`).toBe(true);
        }
      }
    }

    // `engines` is true to the dependency chain: no installed dependency asks for a newer
    // Node.js than the package that pulls it in says it needs (compared by lowest version).
    for (const p of PACKAGES) {
      const m = manifest(installed(p));
      const floor = semver.minVersion(m.engines!.node!)!;
      const seen = new Set<string>();
      const walk = (dir: string) => {
        const own = manifest(dir);
        for (const dep of Object.keys(own.dependencies ?? {})) {
          if (BROWSER_ONLY.has(dep)) continue;
          const depDir = resolveDependency(app, dir, dep);
          // An optional dependency for another platform is legitimately absent.
          if (depDir === undefined && own.optionalDependencies?.[dep] !== undefined) continue;
          if (depDir === undefined) throw new Error(`${dep}, needed by ${dir}, is not installed`);
          if (seen.has(depDir)) continue;
          seen.add(depDir);
          const wants = manifest(depDir).engines?.node;
          if (
            wants !== undefined &&
            semver.validRange(wants) !== null &&
            !DECLARED_ABOVE_NEED.has(dep)
          ) {
            const min = semver.minVersion(wants)!;
            expect(
              semver.gte(floor, min),
              `${m.name} engines ${m.engines!.node}: ${dep} wants ${wants}`,
            ).toBe(true);
          }
          walk(depDir);
        }
      };
      walk(installed(p));
    }

    // The app end to end, with the command the project installed.
    run("npx", ["tributary", "topics", "create", "text-lines", "--partitions", "2"], app);
    run("npx", ["tributary", "topics", "create", "word-counts", "--partitions", "2"], app);
    const lines = ["to be or not to be", "to do is to be", "do be do be do"];
    run("npx", ["tributary", "produce", "text-lines"], app, lines.join("\n"));
    run("npx", ["tributary", "run", "src/app.ts", "--until-caught-up", "--progress", "plain"], app);
    const consumed = run(
      "npx",
      ["tributary", "consume", "word-counts", "--print-key", "--value-serde", "json"],
      app,
    ).stdout;
    const latest = new Map<string, number>();
    for (const line of consumed.split("\n").filter((l) => l.length > 0)) {
      const [word, n] = line.split("\t");
      latest.set(word!, Number(n));
    }
    const reference = new Map<string, number>();
    for (const l of lines)
      for (const w of l.split(" ")) reference.set(w, (reference.get(w) ?? 0) + 1);
    expect(latest).toEqual(reference);
  }, 900_000);
});

/** Node's lookup: the nearest node_modules/<dep> walking up from the depending package. */
function resolveDependency(root: string, from: string, dep: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = path.join(dir, "node_modules", dep);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    if (dir === root || dir === path.dirname(dir)) break;
    dir = path.dirname(dir);
  }
  return undefined;
}
