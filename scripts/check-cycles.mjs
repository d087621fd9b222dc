// `npm run lint`'s import-cycle check: madge over every package's src, value imports only
// (an `import type` is erased at compile time, so it cannot make a cycle at run time).
// A cycle not in KNOWN_CYCLES fails the check, and so does a known one that is gone, so
// the list only shrinks.
import fs from "node:fs";
import path from "node:path";
import madge from "madge";

const root = path.resolve(import.meta.dirname, "..");

// Empty, and kept so: a cycle is broken by moving what both sides need into a module of
// its own (the DSL's classes construct one another through GraphContext.classes).
const KNOWN_CYCLES = [];

const sources = fs
  .readdirSync(path.join(root, "packages"))
  .map((p) => path.join(root, "packages", p, "src"))
  .filter((dir) => fs.existsSync(dir));

const result = await madge(sources, {
  baseDir: path.join(root, "packages"),
  fileExtensions: ["ts"],
  tsConfig: path.join(root, "tsconfig.base.json"),
  excludeRegExp: [/\/dist\//, /\.d\.ts$/],
  detectiveOptions: {
    ts: { skipTypeImports: true },
    tsx: { skipTypeImports: true },
  },
});

const found = result.circular().map((cycle) => cycle.join(" > "));
const added = found.filter((c) => !KNOWN_CYCLES.includes(c));
const gone = KNOWN_CYCLES.filter((c) => !found.includes(c));
for (const c of added) console.error(`import cycle: ${c}`);
for (const c of gone) {
  console.error(`known import cycle no longer found (remove it from KNOWN_CYCLES): ${c}`);
}
if (added.length > 0) {
  console.error(
    "break each cycle: move what both sides need into a module of its own, or import types with `import type`",
  );
}
if (added.length > 0 || gone.length > 0) process.exit(1);
console.log(
  `no new import cycles in ${Object.keys(result.obj()).length} modules (${found.length} known)`,
);
