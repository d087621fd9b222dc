import { StateStoreError } from "../errors.js";
import type { KeyRange } from "../key-value-bytes-store.js";
import { decodeSegmentedKey, segmentPrefix } from "./segmented-key.js";

/** A window or session store's segment interval: given, or Kafka's max(retention / 2, 60 s). */
export function segmentIntervalOf(retentionMs: number, segmentIntervalMs?: number): number {
  if (!(retentionMs >= 1)) {
    throw new StateStoreError(
      "INVALID_ARGUMENT",
      `retention must be at least 1 ms, got ${retentionMs}`,
    );
  }
  return Math.max(1, Math.floor(segmentIntervalMs ?? Math.max(retentionMs / 2, 60_000)));
}

/**
 * Which segments of a segmented key space (segmented-key.ts) have newly expired: those
 * wholly at or below an expiry line, as one key range from where the last expiry ended.
 * Segments below it are empty already (puts there are refused), so each is dropped once.
 *
 * The store itself (SegmentedBytesStore) passes its own line; a copy that only applies a
 * changelog (a standby task) has no store on top, so it `observe`s each key it writes and
 * asks with `rangeBehindObserved`, the line the store recovers on open.
 */
export class SegmentExpiry {
  readonly segmentIntervalMs: number;
  /** Segments below this one were dropped (-1: none yet). */
  private expiredBelow = -1;
  private observed = -1;

  constructor(
    readonly retentionMs: number,
    segmentIntervalMs?: number,
  ) {
    this.segmentIntervalMs = segmentIntervalOf(retentionMs, segmentIntervalMs);
  }

  /** Notes a segmented key written: its time may move the observed time. */
  observe(segmentedKey: Buffer): void {
    const t = decodeSegmentedKey(segmentedKey).time;
    if (t > this.observed) this.observed = t;
  }

  /** The newly expired segments behind the largest time observed; undefined: none. */
  rangeBehindObserved(): Required<KeyRange> | undefined {
    return this.observed < 0 ? undefined : this.rangeAtOrBelow(this.observed - this.retentionMs);
  }

  /** The newly expired segments, all of whose times are at or below `line`; undefined: none. */
  rangeAtOrBelow(line: number): Required<KeyRange> | undefined {
    if (line < 0) return undefined;
    // segments whose last ms is at or below the line are wholly expired
    const below = Math.floor((line + 1) / this.segmentIntervalMs);
    if (below <= Math.max(this.expiredBelow, 0)) return undefined; // nothing new below
    const from = Math.max(this.expiredBelow, 0);
    this.expiredBelow = below;
    return { from: segmentPrefix(from), to: segmentPrefix(below) };
  }
}
