/**
 * Where a worker's CPU went, from a V8 CPU profile (`PEERS_CPU_PROF_DIR`, run-peers.ts):
 * the functions with the most self time, and self time per area (a workspace package, a
 * dependency in node_modules, Node's own code, GC, idle).
 *
 *   node --import tsx bench/peers/profile-summary.ts <file.cpuprofile> [top=25]
 *
 * A .cpuprofile is JSON: `nodes` (id, callFrame {functionName, url, lineNumber}, hitCount,
 * children) and `samples`, one node id per sampling tick, `timeDeltas` the µs before each.
 */
import fs from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) {
  console.error("usage: profile-summary.ts <file.cpuprofile> [top=25]");
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});

/** The area a script belongs to: `packages/<name>`, a node_modules package, or Node's. */
function area(url: string, fn: string): string {
  if (url === "") return fn.startsWith("(") ? fn : "(native)";
  const pkg = /\/packages\/([^/]+)\//.exec(url);
  if (pkg !== null && !url.includes("node_modules")) return `@tributary/${pkg[1]}`;
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (dep !== null) return dep[1]!;
  if (url.startsWith("node:")) return "node (built-in JS)";
  return url.replace(/^file:\/\//, "");
}

const fns = new Map<string, number>();
const areas = new Map<string, number>();
let all = 0;
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const where =
    url === "" ? "" : ` ${url.replace(/^.*\/(packages|node_modules)\//, "$1/")}:${lineNumber + 1}`;
  const key = `${functionName || "(anonymous)"}${where}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
  const a = area(url, functionName);
  areas.set(a, (areas.get(a) ?? 0) + us);
  all += us;
}
const busy = all - (areas.get("(idle)") ?? 0);
const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
console.log(
  `${(all / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s not idle; shares of the busy time`,
);
console.log("\nself time by area:");
for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, 12)) {
  if (a !== "(idle)") console.log(`${pct(us)}  ${a}`);
}
console.log("\nfunctions with the most self time:");
for (const [f, us] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, Number(topArg ?? 25))) {
  if (!f.startsWith("(idle)")) console.log(`${pct(us)}  ${f}`);
}
