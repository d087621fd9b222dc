import { InvalidArgumentError } from "../errors.js";
import type {
  OffsetResetPlanRow,
  OffsetResetSpec,
  OffsetSpec,
  PartitionOffset,
} from "../client/log-client.js";

/**
 * What the group coordinator needs to know about the log: partition counts (for
 * assignment) and offsets (for lag and resets). The embedded log service implements it
 * over its topic registry; either method may answer synchronously.
 */
export interface PartitionOffsets {
  /** Throws UnknownTopicError for a topic that does not exist. */
  partitionCount(topic: string): number | Promise<number>;
  /**
   * One row per partition. For `{ timestamp }`: the first offset whose record timestamp is
   * at or after it, or the log end offset (or -1) when no record is that new.
   */
  listOffsets(topic: string, spec: OffsetSpec): PartitionOffset[] | Promise<PartitionOffset[]>;
}

/**
 * Plans a reset of a group's committed offsets for `topics`, as Kafka's
 * kafka-consumer-groups --reset-offsets does, one row per partition (old → new):
 * - earliest / latest: the log start / end offset;
 * - offset: that offset in every partition, clamped into [log start, log end];
 * - timestamp: the first offset at or after it (via the time index), the log end when no
 *   record is that new;
 * - duration: as timestamp, for `now - ms`;
 * - shift: the committed offset moved by `by`, clamped into [log start, log end];
 *   partitions with no committed offset have nothing to shift and get no row.
 * Nothing is written here; the coordinator commits the plan unless it is a dry run.
 */
export async function planOffsetReset(
  spec: OffsetResetSpec,
  topics: readonly string[],
  committed: (topic: string, partition: number) => number | undefined,
  log: PartitionOffsets,
  now: number,
): Promise<OffsetResetPlanRow[]> {
  checkSpec(spec);
  const rows: OffsetResetPlanRow[] = [];
  for (const topic of [...new Set(topics)].sort()) {
    const count = await log.partitionCount(topic);
    const start = byPartition(await log.listOffsets(topic, "earliest"));
    const end = byPartition(await log.listOffsets(topic, "latest"));
    let target: Map<number, number> | undefined;
    if (spec.to === "timestamp" || spec.to === "duration") {
      const ts = spec.to === "timestamp" ? spec.timestamp : now - spec.ms;
      target = byPartition(await log.listOffsets(topic, { timestamp: ts }));
    }
    for (let p = 0; p < count; p++) {
      const lo = start.get(p) ?? 0;
      const hi = end.get(p) ?? lo;
      const from = committed(topic, p) ?? null;
      let to: number;
      switch (spec.to) {
        case "earliest":
          to = lo;
          break;
        case "latest":
          to = hi;
          break;
        case "offset":
          to = clamp(spec.offset, lo, hi);
          break;
        case "timestamp":
        case "duration": {
          const found = target!.get(p);
          to = found === undefined || found < 0 ? hi : clamp(found, lo, hi);
          break;
        }
        case "shift":
          if (from === null) continue;
          to = clamp(from + spec.by, lo, hi);
          break;
      }
      rows.push({ topic, partition: p, from, to });
    }
  }
  return rows;
}

function byPartition(offsets: readonly PartitionOffset[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const o of offsets) m.set(o.partition, o.offset);
  return m;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

function checkSpec(spec: OffsetResetSpec): void {
  const int = (v: unknown, what: string, min: number) => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
      throw new InvalidArgumentError(
        `reset to ${spec.to}: ${what} is ${String(v)}, expected an integer${min === Number.MIN_SAFE_INTEGER ? "" : ` >= ${min}`}`,
      );
    }
  };
  switch (spec?.to) {
    case "earliest":
    case "latest":
      return;
    case "offset":
      int(spec.offset, "offset", 0);
      return;
    case "timestamp":
      int(spec.timestamp, "timestamp (ms since the epoch)", 0);
      return;
    case "duration":
      int(spec.ms, "duration (ms back from now)", 0);
      return;
    case "shift":
      int(spec.by, "shift", Number.MIN_SAFE_INTEGER);
      return;
    default:
      throw new InvalidArgumentError(
        `unknown reset spec ${JSON.stringify(spec)}: use to earliest, latest, offset, timestamp, duration or shift`,
      );
  }
}
