/**
 * The five workloads of the peer benchmark: what each reads, how many records each
 * system's run must count before it is done, and how its output is compared
 * (results.ts). The topologies are in tributary-topologies.ts and PeerBench.java.
 */
export const WORKLOADS = [
  "wordCount",
  "stateless",
  "windowedCount",
  "streamJoin",
  "restore",
] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export function isWorkload(name: string): name is WorkloadName {
  return (WORKLOADS as readonly string[]).includes(name);
}

/**
 * How an output topic becomes a comparable map: `last` keeps each key's last value (an
 * int64 count: the final count per key), `tally` counts the records per key.
 */
export type ResultKind = "last" | "tally";

export interface Workload {
  name: WorkloadName;
  /** Shared input topics (inputs.ts names them per benchmark run), filled once per log;
   * restore fills a changelog per run instead. */
  inputs: string[];
  result: ResultKind | null;
  /** What Tributary's worker must count as processed for `n` input records. */
  tributaryProcessed(n: number): number;
  /** What the output must add up to for `n` input records (the sum of the map's values). */
  expectedTotal(n: number): number | null;
}

const once = (n: number) => n;

export const WORKLOAD: Record<WorkloadName, Workload> = {
  // input: one word per record (10,000 distinct words, null keys), counted after a
  // groupBy-by-word repartition: Tributary's worker processes every record twice
  wordCount: {
    name: "wordCount",
    inputs: ["words"],
    result: "last",
    tributaryProcessed: (n) => 2 * n,
    expectedTotal: once,
  },
  // input: the streams bench's records (10-byte word keys, 90-byte values), all passed on
  stateless: {
    name: "stateless",
    inputs: ["records"],
    result: "tally",
    tributaryProcessed: once,
    expectedTotal: once,
  },
  // input: the streams bench's timed records (10,000 keys, 1 ms apart); final counts per
  // key and window
  windowedCount: {
    name: "windowedCount",
    inputs: ["views"],
    result: "last",
    tributaryProcessed: once,
    expectedTotal: once,
  },
  // input: half the records on each side, the same keys at the same times: every record
  // meets its partner and nothing else, as long as neither side runs ahead past the grace
  streamJoin: {
    name: "streamJoin",
    inputs: ["left", "right"],
    result: "tally",
    tributaryProcessed: once,
    expectedTotal: (n) => n / 2,
  },
  // a 1-partition table whose store's changelog holds `restoreKeys` distinct keys
  restore: {
    name: "restore",
    inputs: [],
    result: null,
    tributaryProcessed: once,
    expectedTotal: () => null,
  },
};
