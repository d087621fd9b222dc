/** Reads of a store's write-back cache (the state package's CachingStore). */
export interface CacheReads {
  hits: number;
  misses: number;
}

type WithStats = { cacheStats(): CacheReads };

/**
 * The cache reads of a task's store, 0 and 0 for a store without a write-back cache. The
 * runtime's stores wrap the state package's typed store (`inner` for key-value stores,
 * `state` for window and session stores), whose byte layer (`bytes`, or the segments'
 * `bytes`) is the CachingStore when the store caches: found by its `cacheStats`, since
 * an app loaded through the CLI's module loader may hold its own copy of the class.
 */
export function cacheReads(store: object): CacheReads {
  const s = store as {
    inner?: { bytes?: unknown };
    state?: { segments?: { bytes?: unknown } };
  };
  for (const bytes of [s.inner?.bytes, s.state?.segments?.bytes]) {
    if (typeof (bytes as Partial<WithStats> | undefined)?.cacheStats === "function") {
      const { hits, misses } = (bytes as WithStats).cacheStats();
      return { hits, misses };
    }
  }
  return { hits: 0, misses: 0 };
}
