import { describe, expect, it } from "vitest";
import { openSessionStore, type SessionStore } from "../src/session/session-store.js";
import { removeDir, stringSerde } from "./helpers.js";
import { storeFixture } from "./store-fixture.js";

/**
 * One contract for session stores over both engines, cache on and off: sessions found by
 * key and overlap, merged by remove + put, dropped past retention (gap + grace, counted
 * from a session's end), restored from the changelog.
 */
const variants = [
  { engine: "memory", cacheBytes: 0 },
  { engine: "memory", cacheBytes: 4096 },
  { engine: "rocksdb", cacheBytes: 0 },
  { engine: "rocksdb", cacheBytes: 4096 },
] as const;

for (const variant of variants) {
  describe(`session store contract: ${variant.engine}, cache ${variant.cacheBytes} bytes`, () => {
    const fx = storeFixture("session");
    const open = async (retentionMs: number) =>
      fx.track(
        await openSessionStore<string | null, string>({
          applicationId: "app",
          taskId: "0_0",
          name: "sessions",
          engine: variant.engine,
          stateDir: fx.stateDir,
          cacheBytes: variant.cacheBytes,
          keySerde: stringSerde,
          valueSerde: stringSerde,
          retentionMs,
          segmentIntervalMs: 1000,
          changelog: { client: fx.client, partition: 0, createWithPartitions: 1 },
        }),
      );

    it("finds the sessions a record would merge with, and merges them by remove + put", async () => {
      const store = await open(100_000);
      await store.prefetch(["u", "v"]);
      store.put("u", 100, 200, "a");
      store.put("u", 1000, 1500, "b");
      store.put("u", 5000, 5000, "c");
      store.put("v", 150, 160, "other key");
      // a record at 700 with gap 500 overlaps [200 .. 1200]: both first sessions
      const found = store.findSessions("u", 700 - 500, 700 + 500);
      expect(found.map((s) => [s.start, s.end, s.value])).toEqual([
        [100, 200, "a"],
        [1000, 1500, "b"],
      ]);
      for (const s of found) store.remove("u", s.start, s.end);
      store.put("u", 100, 1500, "a+b+x");
      await store.commit();
      await store.prefetch(["u"]);
      expect(store.findSessions("u", 0, 10_000).map((s) => [s.start, s.end, s.value])).toEqual([
        [100, 1500, "a+b+x"],
        [5000, 5000, "c"],
      ]);
      expect(store.fetchSession("u", 5000, 5000)).toBe("c");
      expect(store.fetchSession("u", 100, 200)).toBeNull();
    });

    it("drops sessions whose end is past retention, and restores the rest from the changelog", async () => {
      let store = await open(3000);
      const expected = new Map<string, string>();
      let x = 11;
      for (let round = 0; round < 8; round++) {
        const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
        await store.prefetch(keys);
        for (let i = 0; i < 40; i++) {
          x = (x * 1103515245 + 12345) >>> 0;
          const key = `k${x % 10}`;
          const end = round * 1000 + (x % 900);
          const start = Math.max(0, end - (x % 300));
          if (store.put(key, start, end, `${round}.${i}`)) {
            expected.set(`${key}[${start},${end}]`, `${round}.${i}`);
          }
        }
        await store.commit();
      }
      const line = store.observedTime - 3000;
      for (const k of [...expected.keys()]) {
        if (Number(k.split(",")[1]!.slice(0, -1)) <= line) expected.delete(k);
      }
      const read = async (s: SessionStore<string | null, string>) => {
        const out = new Map<string, string>();
        for await (const e of s.all()) out.set(`${e.key}[${e.start},${e.end}]`, e.value);
        return out;
      };
      expect(await read(store)).toEqual(expected);
      expect(expected.size).toBeGreaterThan(0);
      await store.close();
      fx.untrack();
      if (variant.engine === "rocksdb") removeDir(fx.stateDir);
      store = await open(3000);
      expect(await read(store)).toEqual(expected);
      // nothing older than the retention came back through restore
      let oldest = Number.MAX_SAFE_INTEGER;
      for await (const e of store.segments.all()) oldest = Math.min(oldest, e.time);
      expect(oldest).toBeGreaterThan(line - 1000);
    });
  });
}
