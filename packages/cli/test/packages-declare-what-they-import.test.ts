import fs from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "./helpers.js";

/** `import … from "x"`, `export … from "x"`, `import("x")`: the package part of x. */
function importedPackages(source: string): string[] {
  const out: string[] = [];
  const statics = source.matchAll(/^\s*(?:import|export)\s[^;]*?\bfrom\s+"([^".][^"]*)"/gm);
  const dynamics = source.matchAll(/\bimport\(\s*"([^".][^"]*)"\s*\)/g);
  for (const m of [...statics, ...dynamics]) {
    const spec = m[1]!;
    if (spec.startsWith("node:") || builtinModules.includes(spec.split("/")[0]!)) continue;
    const parts = spec.split("/");
    out.push(spec.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!);
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).flatMap((e) =>
    // starter/ holds a new user project's files as text, not imports of the package.
    e.isFile() &&
    /\.(ts|mts|tsx)$/.test(e.name) &&
    !e.name.endsWith(".d.ts") &&
    !e.parentPath.includes(`${path.sep}starter`)
      ? [path.join(e.parentPath, e.name)]
      : [],
  );
}

describe("the published packages", () => {
  it("declare every package their source imports (an install outside the repository has no hoisted copies to fall back on)", () => {
    const problems: string[] = [];
    for (const name of fs.readdirSync(path.join(REPO, "packages"))) {
      const dir = path.join(REPO, "packages", name);
      const manifestFile = path.join(dir, "package.json");
      if (!fs.existsSync(manifestFile) || !fs.existsSync(path.join(dir, "src"))) continue;
      const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as {
        name: string;
        dependencies?: Record<string, string>;
        peerDependencies?: Record<string, string>;
        optionalDependencies?: Record<string, string>;
      };
      const declared = new Set([
        manifest.name,
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
        ...Object.keys(manifest.optionalDependencies ?? {}),
      ]);
      for (const file of sourceFiles(path.join(dir, "src"))) {
        for (const pkg of importedPackages(fs.readFileSync(file, "utf8"))) {
          if (!declared.has(pkg) && !pkg.startsWith("@types/")) {
            problems.push(`${manifest.name}: ${path.relative(REPO, file)} imports ${pkg}`);
          }
        }
      }
    }
    expect([...new Set(problems)]).toEqual([]);
  });
});
