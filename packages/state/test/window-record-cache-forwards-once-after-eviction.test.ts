import { describe, expect, it } from "vitest";
import { PersistentWindowStore } from "../src/processor/persistent-window-store.js";
import type { CachedChange } from "../src/record-cache.js";
import { openTestWindowStore, storeFixture } from "./store-fixture.js";

/**
 * A windowed count whose keys do not all fit the store's resident budget: a key read in
 * one batch is evicted by the next ones (its dirty windows written below first) and read
 * back later, into new resident entries, while the changes of its windows still wait in
 * the record cache. The window's next update must renew that waiting change, not start a
 * second one: downstream sees each window once per flush, with the count as of the flush
 * and, as old value, the count it saw at the previous flush. Real RocksDB.
 */
const MIN = 60_000;
const KEYS = Array.from({ length: 12 }, (_, i) => `user-${i}`);
/** Three batches of four keys, round-robin: a key comes back every third batch. */
const BATCHES = [KEYS.slice(0, 4), KEYS.slice(4, 8), KEYS.slice(8, 12)];
const STARTS = [0, MIN, 2 * MIN];

const numberSerde = {
  serialize: (v: number | null) => (v === null ? null : Buffer.from(String(v))),
  deserialize: (b: Buffer | null) => (b === null ? null : Number(b.toString())),
};

type Forwarded = { key: string | null; start: number; change: CachedChange<number> };

for (const residentBytes of [0, 2048]) {
  describe(`a windowed count's record cache over a resident budget of ${residentBytes} bytes`, () => {
    const fx = storeFixture("window-cache-evict");
    const open = () =>
      openTestWindowStore<number>(
        fx,
        {
          name: "counts",
          cacheBytes: residentBytes,
          retentionMs: 60 * MIN,
          segmentIntervalMs: MIN,
        },
        numberSerde,
      );

    it("forwards each window once per flush, renewed across eviction and re-read, with the right counts", async () => {
      const inner = await open();
      const store = new PersistentWindowStore<string | null, number>(inner);
      store.enableRecordCache(1024 * 1024); // never passed here: only flush() forwards
      const got: Forwarded[] = [];
      store.setFlushListener((key, start, change) => got.push({ key, start, change }));
      // the reference, counted here: every window's count, and as of each flush
      const counts = new Map<string, number>();
      let seen = new Map<string, number>();
      const id = (key: string | null, start: number) => `${key}@${start}`;

      for (let flush = 0; flush < 3; flush++) {
        for (let round = 0; round < 4; round++) {
          for (const batch of BATCHES) {
            await store.prefetch(batch);
            for (const key of batch) {
              for (const start of STARTS) {
                const old = store.fetch(key, start);
                expect(old).toBe(counts.get(id(key, start)) ?? null);
                const next = (old ?? 0) + 1;
                expect(store.putCached(key, start, next, old, start, {})).toBe(true);
                counts.set(id(key, start), next);
              }
            }
          }
        }
        store.flush();
        const ids = got.map((g) => id(g.key, g.start));
        expect(new Set(ids).size).toBe(ids.length); // once each
        expect(ids.sort()).toEqual([...counts.keys()].sort()); // every window updated
        for (const g of got) {
          const w = id(g.key, g.start);
          expect(g.change).toEqual({ newValue: counts.get(w), oldValue: seen.get(w) ?? null });
        }
        seen = new Map(counts);
        got.length = 0;
        await store.commit();
      }

      const all = new Map<string, number>();
      for await (const w of inner.all()) all.set(id(w.key, w.start), w.value);
      expect(all).toEqual(counts);
    });
  });
}
