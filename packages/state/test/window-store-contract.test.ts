import { describe, expect, it } from "vitest";
import { KeyNotPrefetchedError } from "../src/errors.js";
import type { WindowStore } from "../src/window/window-store.js";
import { readPartition, removeDir } from "./helpers.js";
import { engineWindowEntries, openTestWindowStore, storeFixture } from "./store-fixture.js";

/**
 * One contract for window stores over both engines, cache on and off: windows by key and
 * start, duplicates for join buffers, retention = size + grace dropping old windows (also
 * from the changelog), and restore from the changelog.
 */
const variants = [
  { engine: "memory", cacheBytes: 0 },
  { engine: "memory", cacheBytes: 4096 },
  { engine: "rocksdb", cacheBytes: 0 },
  { engine: "rocksdb", cacheBytes: 4096 },
] as const;

const MIN = 60_000;

for (const variant of variants) {
  describe(`window store contract: ${variant.engine}, cache ${variant.cacheBytes} bytes`, () => {
    const fx = storeFixture("window");
    const open = (retentionMs = 10 * MIN, retainDuplicates = false, name = "windows") =>
      openTestWindowStore(fx, {
        engine: variant.engine,
        cacheBytes: variant.cacheBytes,
        name,
        retentionMs,
        retainDuplicates,
        segmentIntervalMs: MIN,
        partition: 1,
      });

    it("reads back windows by key and start, before and after commit; keys never bleed into each other", async () => {
      const store = await open();
      await store.prefetch(["a", "ab", "b"]);
      store.put("a", 0, "a0");
      store.put("a", MIN, "a1");
      store.put("ab", 0, "ab0");
      store.put("a", 30_000, "a-half");
      store.put("a", MIN, "a1-new");
      expect(store.fetch("a", MIN)).toBe("a1-new");
      expect(store.fetchRange("a", 0, 2 * MIN).map((w) => [w.start, w.value])).toEqual([
        [0, "a0"],
        [30_000, "a-half"],
        [MIN, "a1-new"],
      ]);
      expect(store.fetchRange("b", 0, 2 * MIN)).toEqual([]);
      await store.commit();
      await store.prefetch(["a", "ab"]);
      expect(store.fetchRange("a", 1, MIN).map((w) => w.value)).toEqual(["a-half", "a1-new"]);
      expect(store.fetch("ab", 0)).toBe("ab0");
      store.put("a", 0, null);
      expect(store.fetch("a", 0)).toBeNull();
      if (variant.engine === "rocksdb") {
        expect(() => store.fetch("zz", 0)).toThrow(KeyNotPrefetchedError);
      } else {
        // the memory engine answers any key at once, prefetched or not (as its key-value
        // reads do): "b" was not prefetched this time
        expect(store.fetch("zz", 0)).toBeNull();
        expect(store.fetchRange("b", 0, 2 * MIN)).toEqual([]);
        expect(store.fetch("ab", 0)).toBe("ab0");
      }
      const all: string[] = [];
      for await (const w of store.all()) all.push(`${w.key}@${w.start}=${w.value}`);
      // time segment first, then key (length first), then start
      expect(all).toEqual(["a@30000=a-half", "ab@0=ab0", "a@60000=a1-new"]);
    });

    it("keeps every duplicate when asked (a join buffer), in put order", async () => {
      const store = await open(10 * MIN, true);
      await store.prefetch(["k"]);
      store.put("k", 5, "x");
      store.put("k", 5, "y");
      store.put("k", 3, "z");
      await store.commit();
      store.put("k", 5, "w");
      expect(store.fetchRange("k", 0, 10).map((w) => w.value)).toEqual(["z", "x", "y", "w"]);
      await store.prefetch(["k"]);
      expect(store.fetchRange("k", 0, 10).map((w) => w.value)).toEqual(["z", "x", "y", "w"]);
    });

    it("drops windows past retention: refused puts, hidden reads, whole segments dropped without tombstones", async () => {
      const store = await open(2 * MIN);
      await store.prefetch(["k", "j"]);
      // a commit per window, so each is written while live and dropped later
      let drops = 0;
      let droppedBelow = 0;
      for (let m = 0; m < 10; m++) {
        store.put("k", m * MIN, `v${m}`);
        await store.commit();
        // segments (1 min) wholly at or below the line m - 2 min: those below m - 2
        if (m - 2 > droppedBelow) {
          drops++;
          droppedBelow = m - 2;
        }
      }
      store.put("j", 0, "old");
      // observed time 9 min, retention 2 min: only starts > 7 min are live
      expect(store.fetchRange("k", 0, 10 * MIN).map((w) => w.value)).toEqual(["v8", "v9"]);
      expect(store.put("k", 7 * MIN, "late")).toBe(false);
      expect(store.metrics.expiredPuts).toBeGreaterThan(0);
      await store.commit();
      const rest: string[] = [];
      for await (const w of store.all()) rest.push(`${w.key}@${w.start / MIN}`);
      expect(rest).toEqual(["k@8", "k@9"]);
      // below the typed layer (no time filter): the engine holds no entry of a wholly
      // expired segment (segments are 1 min, so the one holding 7 min straddles the line
      // and stays until it passes)
      expect(await engineWindowEntries(store)).toEqual([
        `k@${7 * MIN}`,
        `k@${8 * MIN}`,
        `k@${9 * MIN}`,
      ]);
      expect(store.metrics.segmentDrops).toBe(drops);
      // the changelog got each accepted put once (j@0 came 9 min behind: refused) and not
      // one tombstone: it forgets the expired entries by time (compact,delete, a retention
      // past the store's)
      const records = await readPartition(fx.client, "app-windows-changelog", 1);
      expect(records.filter((r) => r.value === null)).toEqual([]);
      expect(records.map((r) => (r.value as Buffer).toString()).sort()).toEqual(
        Array.from({ length: 10 }, (_, m) => `v${m}`),
      );
      const config = (await fx.client.admin.describeTopic("app-windows-changelog")).config;
      expect(config.cleanupPolicy).toBe("compact,delete");
      expect(config.retentionMs).toBe(2 * MIN + 24 * 60 * MIN);
    });

    it("restores the same windows from its changelog (local state lost or not) and resumes retention", async () => {
      let store = await open(5 * MIN);
      const expected = new Map<string, string>();
      let x = 7;
      for (let round = 0; round < 6; round++) {
        const keys = Array.from({ length: 20 }, (_, i) => `user-${i}`);
        await store.prefetch(keys);
        for (let i = 0; i < 150; i++) {
          x = (x * 1103515245 + 12345) >>> 0;
          const key = `user-${x % 20}`;
          const start = (round * 2 + (x % 3)) * MIN;
          if (start <= store.observedTime - 5 * MIN) continue;
          const v = `${store.fetch(key, start) ?? ""}+`.slice(-30);
          store.put(key, start, v);
          expected.set(`${key}@${start}`, v);
        }
        await store.commit();
      }
      const line = store.observedTime - 5 * MIN;
      for (const k of [...expected.keys()]) {
        if (Number(k.split("@")[1]) <= line) expected.delete(k);
      }
      const read = async (s: WindowStore<string | null, string>) => {
        const out = new Map<string, string>();
        for await (const w of s.all()) out.set(`${w.key}@${w.start}`, w.value);
        return out;
      };
      expect(await read(store)).toEqual(expected);
      const observed = store.observedTime;
      await store.close();
      fx.untrack();
      if (variant.engine === "rocksdb") removeDir(fx.stateDir);
      store = await open(5 * MIN);
      expect(store.restored?.records).toBeGreaterThan(0);
      expect(store.observedTime).toBe(observed);
      expect(await read(store)).toEqual(expected);
    });
  });
}
