import fs from "node:fs";
import { type PerformanceEntry, PerformanceObserver } from "node:perf_hooks";

/**
 * LATENCY_TRACE=<dir>: where the latency bench's tail comes from. The client writes each
 * measured record's hop times, both processes their GC pauses, the worker its commits,
 * all as process.hrtime ns (CLOCK_MONOTONIC: one clock across the processes), and the
 * bench groups the records over TAIL_MS into episodes and says what overlapped each.
 *   <dir>/<readTopic>.records.tsv => sentNs processedNs readNs (processedNs 0: baseline)
 *   <dir>/<name>.pauses.tsv      => startNs endNs what   (what: gc-<kind>, commit)
 */
export const TRACE_DIR = process.env.LATENCY_TRACE;
const TAIL_MS = Number(process.env.LATENCY_TAIL_MS ?? 5);
/** Tail records whose send times are closer than this belong to one episode. */
const EPISODE_GAP_MS = 20;
const WORST_EPISODES = 8;

export interface Pause {
  startNs: bigint;
  endNs: bigint;
  what: string;
}

/** Records this process's GC pauses until the returned function is called, which hands them over. */
export function recordGcPauses(): () => Pause[] {
  const pauses: Pause[] = [];
  // performance.now() is ms since timeOrigin on the same monotonic clock as hrtime
  const originNs = process.hrtime.bigint() - BigInt(Math.round(performance.now() * 1e6));
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      const startNs = originNs + BigInt(Math.round(e.startTime * 1e6));
      const endNs = startNs + BigInt(Math.round(e.duration * 1e6));
      pauses.push({ startNs, endNs, what: `gc-${gcKind(e.detail?.kind)}` });
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => {
    observer.disconnect();
    return pauses;
  };
}

function gcKind(kind: number | undefined): string {
  // perf_hooks.constants.NODE_PERFORMANCE_GC_*
  if (kind === 1) return "scavenge";
  if (kind === 2) return "mark-compact";
  if (kind === 4) return "incremental";
  if (kind === 8) return "weak-callbacks";
  return String(kind);
}

export function writePauses(name: string, pauses: Pause[]): void {
  if (TRACE_DIR === undefined) return;
  const lines = pauses.map((p) => `${p.startNs}\t${p.endNs}\t${p.what}\n`);
  fs.writeFileSync(`${TRACE_DIR}/${name}.pauses.tsv`, lines.join(""));
}

export function readPauses(name: string): Pause[] {
  const file = `${TRACE_DIR}/${name}.pauses.tsv`;
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [s, e, what] = l.split("\t") as [string, string, string];
      return { startNs: BigInt(s), endNs: BigInt(e), what };
    });
}

interface Traced {
  sentNs: bigint;
  processedNs: bigint;
  readNs: bigint;
}

/**
 * Prints the episodes of the records over TAIL_MS in `<readTopic>.records.tsv`: when,
 * how many, the longest end to end and per hop, and which pauses (of the named processes)
 * overlapped the episode's span from its first send to its last read.
 */
export function printTailEpisodes(readTopic: string, pauseSources: string[]): void {
  if (TRACE_DIR === undefined) return;
  const records: Traced[] = fs
    .readFileSync(`${TRACE_DIR}/${readTopic}.records.tsv`, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [s, p, r] = l.split("\t") as [string, string, string];
      return { sentNs: BigInt(s), processedNs: BigInt(p), readNs: BigInt(r) };
    });
  if (records.length === 0) return;
  let t0 = records[0]!.sentNs;
  for (const r of records) if (r.sentNs < t0) t0 = r.sentNs;
  const ms = (ns: bigint) => Number(ns) / 1e6;
  const tail = records
    .filter((r) => ms(r.readNs - r.sentNs) > TAIL_MS)
    .sort((a, b) => (a.sentNs < b.sentNs ? -1 : 1));
  const pauses = pauseSources.flatMap((name) =>
    readPauses(name).map((p) => ({ ...p, what: `${name} ${p.what}` })),
  );
  const episodes: Traced[][] = [];
  for (const r of tail) {
    const last = episodes.at(-1)?.at(-1);
    if (last !== undefined && ms(r.sentNs - last.sentNs) < EPISODE_GAP_MS) episodes.at(-1)!.push(r);
    else episodes.push([r]);
  }
  const lines: { worst: number; text: string }[] = [];
  /** Tail records by what overlapped their episode (one record may count under several). */
  const by = new Map<string, number>();
  for (const e of episodes) {
    const from = e[0]!.sentNs;
    let to = e[0]!.readNs;
    for (const r of e) if (r.readNs > to) to = r.readNs;
    const max = (f: (r: Traced) => number) => e.reduce((a, r) => Math.max(a, f(r)), 0);
    const worst = max((r) => ms(r.readNs - r.sentNs));
    const hops =
      e[0]!.processedNs === 0n
        ? ""
        : ` in ≤ ${max((r) => ms(r.processedNs - r.sentNs)).toFixed(1)} out ≤ ${max((r) => ms(r.readNs - r.processedNs)).toFixed(1)}`;
    const overlapping = pauses.filter((p) => p.endNs >= from && p.startNs <= to);
    const kinds = new Set(overlapping.map((p) => p.what.replace(/ gc-.*/, " gc")));
    if (kinds.size === 0) kinds.add("nothing traced");
    for (const k of kinds) by.set(k, (by.get(k) ?? 0) + e.length);
    const what = overlapping.map(
      (p) =>
        `${p.what} ${ms(p.endNs - p.startNs).toFixed(1)} ms at +${ms(p.startNs - t0).toFixed(0)}`,
    );
    lines.push({
      worst,
      text: `  +${ms(from - t0).toFixed(0)} ms: ${e.length} records, e2e ≤ ${worst.toFixed(1)}${hops}; overlapping: ${what.join(", ") || "nothing traced"}`,
    });
  }
  const overlaps = [...by].map(([k, n]) => `${k} ${n}`).join(", ");
  console.log(
    `${readTopic}: ${tail.length} of ${records.length} records over ${TAIL_MS} ms, in ${episodes.length} episodes; tail records by what overlapped: ${overlaps || "none"}; the worst episodes:`,
  );
  lines.sort((a, b) => b.worst - a.worst);
  for (const l of lines.slice(0, WORST_EPISODES)) console.log(l.text);
}
