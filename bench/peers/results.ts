import type { LogClient } from "@tributary/log";
import { longSerde } from "./long-serde.js";
import type { ResultKind } from "./workloads.js";

/**
 * A run's output topic as a map (workloads.ts: `last` value per key, or a `tally` of
 * records per key), read from the start to the end offsets it had after the run, and the
 * comparison that makes the benchmark fail when two systems disagree.
 */
export type Results = Map<string, number>;

export async function readResults(
  log: LogClient,
  topic: string,
  kind: ResultKind,
): Promise<Results> {
  const ends = (await log.admin.describeTopic(topic)).partitions;
  const consumer = log.consumer({ autoOffsetReset: "earliest" });
  const open = new Map<number, number>();
  for (const p of ends)
    if (p.logEndOffset > p.logStartOffset) open.set(p.partition, p.logEndOffset);
  consumer.assign([...open.keys()].map((partition) => ({ topic, partition })));
  for (const partition of open.keys()) consumer.seek({ topic, partition }, 0);
  const out: Results = new Map();
  const deadline = Date.now() + 120_000;
  try {
    while (open.size > 0) {
      if (Date.now() > deadline) throw new Error(`reading ${topic}: not at its end after 120 s`);
      for (const f of await consumer.poll({ maxWaitMs: 200 })) {
        for (const r of f.records) {
          const key = r.key === null ? "<null>" : r.key.toString("utf8");
          if (kind === "tally") out.set(key, (out.get(key) ?? 0) + 1);
          else out.set(key, longSerde.deserialize(r.value));
          if (r.offset + 1 >= (open.get(f.partition) ?? Number.POSITIVE_INFINITY)) {
            open.delete(f.partition);
          }
        }
      }
    }
  } finally {
    await consumer.close();
  }
  return out;
}

export function total(r: Results): number {
  let sum = 0;
  for (const v of r.values()) sum += v;
  return sum;
}

/** Null if `a` and `b` hold the same entries, else a description of the first differences. */
export function difference(a: Results, b: Results): string | null {
  const diffs: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) diffs.push(`${k}: ${v} vs ${b.get(k) ?? "missing"}`);
  for (const [k, v] of b) if (!a.has(k)) diffs.push(`${k}: missing vs ${v}`);
  if (diffs.length === 0) return null;
  return `${diffs.length} keys differ (${a.size} vs ${b.size} keys, totals ${total(a)} vs ${total(b)}), e.g. ${diffs.slice(0, 5).join("; ")}`;
}
