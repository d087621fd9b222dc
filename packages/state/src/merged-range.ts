import type { KeyValueChange, KeyValueEntry } from "./key-value-bytes-store.js";

/**
 * Merges a layer's own not-yet-written changes (sorted by key, null = deleted) over the
 * range scan of the layer below, as Kafka's MergedSortedCacheKeyValueBytesStoreIterator
 * does: on equal keys the overlay wins; deletions hide the key.
 */
export async function* mergeRange(
  below: AsyncIterable<KeyValueEntry>,
  overlay: readonly KeyValueChange[],
): AsyncGenerator<KeyValueEntry> {
  if (overlay.length === 0) {
    yield* below;
    return;
  }
  const merge = new OverlayMerge(overlay);
  for await (const entry of below) yield* merge.next(entry);
  yield* merge.rest();
}

/** mergeRange over a layer below that scans synchronously (the memory engine). */
export function* mergeRangeSync(
  below: Iterable<KeyValueEntry>,
  overlay: readonly KeyValueChange[],
): Generator<KeyValueEntry> {
  const merge = new OverlayMerge(overlay);
  for (const entry of below) yield* merge.next(entry);
  yield* merge.rest();
}

/** The merge's state: how far the overlay has been emitted. */
class OverlayMerge {
  private i = 0;

  constructor(private readonly overlay: readonly KeyValueChange[]) {}

  /** The overlay entries before `entry`, then `entry` unless the overlay shadows it. */
  *next(entry: KeyValueEntry): Generator<KeyValueEntry> {
    const overlay = this.overlay;
    while (this.i < overlay.length) {
      const o = overlay[this.i] as KeyValueChange;
      const c = Buffer.compare(o.key, entry.key);
      if (c > 0) break;
      this.i++;
      if (o.value !== null) yield { key: o.key, value: o.value };
      if (c === 0) return;
    }
    yield entry;
  }

  /** The overlay entries after the last one below. */
  *rest(): Generator<KeyValueEntry> {
    for (; this.i < this.overlay.length; this.i++) {
      const o = this.overlay[this.i] as KeyValueChange;
      if (o.value !== null) yield { key: o.key, value: o.value };
    }
  }
}

/** The overlay's entries within bounds, sorted by key bytes. */
export function sortedOverlay(
  changes: Iterable<KeyValueChange>,
  keep: (key: Buffer) => boolean,
): KeyValueChange[] {
  const out: KeyValueChange[] = [];
  for (const c of changes) if (keep(c.key)) out.push(c);
  out.sort((a, b) => Buffer.compare(a.key, b.key));
  return out;
}
