// `npm run lint`'s layering check: layers go one way. A file under a folder of LAYER_RULES
// may not import (values or types) from the folders the rule forbids: the DSL builds the
// graph, the graph compiles into a Topology, and the runtime (and the test driver) run
// that Topology; none of them reaches back into the DSL that built it.
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");

const LAYER_RULES = [
  ...["runtime", "testing", "topology", "graph", "operators", "joins", "windows", "rx"].map(
    (layer) => ({
      folder: `packages/streams/src/${layer}`,
      forbidden: ["packages/streams/src/dsl"],
      why: "only the DSL knows the DSL: the runtime runs a compiled Topology (topology/app.ts)",
    }),
  ),
];

// import … from "x", export … from "x", import("x"), import "x"
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;

function tsFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

const inside = (file, folder) => {
  const rel = path.relative(path.join(root, folder), file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
};

let broken = 0;
for (const rule of LAYER_RULES) {
  for (const file of tsFiles(path.join(root, rule.folder))) {
    for (const [, spec] of fs.readFileSync(file, "utf8").matchAll(SPECIFIER)) {
      if (!spec.startsWith(".")) continue;
      const target = path.resolve(path.dirname(file), spec);
      const hit = rule.forbidden.find((f) => inside(target, f) || target === path.join(root, f));
      if (hit === undefined) continue;
      console.error(`${path.relative(root, file)} imports ${spec} (${hit}): ${rule.why}`);
      broken++;
    }
  }
}
if (broken > 0) process.exit(1);
console.log(`layers go one way (${LAYER_RULES.length} rule${LAYER_RULES.length === 1 ? "" : "s"})`);
