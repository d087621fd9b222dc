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
  let i = 0;
  for await (const entry of below) {
    let shadowed = false;
    while (i < overlay.length) {
      const o = overlay[i] as KeyValueChange;
      const c = Buffer.compare(o.key, entry.key);
      if (c > 0) break;
      i++;
      if (o.value !== null) yield { key: o.key, value: o.value };
      if (c === 0) {
        shadowed = true;
        break;
      }
    }
    if (!shadowed) yield entry;
  }
  for (; i < overlay.length; i++) {
    const o = overlay[i] as KeyValueChange;
    if (o.value !== null) yield { key: o.key, value: o.value };
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
