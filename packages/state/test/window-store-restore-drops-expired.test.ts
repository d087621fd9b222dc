import { describe, expect, it } from "vitest";
import { readPartition, removeDir } from "./helpers.js";
import { engineWindowEntries, openTestWindowStore, storeFixture } from "./store-fixture.js";

/**
 * Expired segments leave no tombstones, so a window store's changelog still holds entries
 * older than the retention when a store restores from it. The restored store must equal
 * the live one: those entries never read, and gone from the engine after the first commit.
 */
const MIN = 60_000;
const RETENTION = 3 * MIN;
const KEYS = ["a", "b", "c", "d", "e"];
const ROUNDS = 10;

for (const engine of ["memory", "rocksdb"] as const) {
  for (const localState of engine === "rocksdb" ? ["kept", "lost"] : ["lost"]) {
    describe(`window store restore on ${engine}, local state ${localState}`, () => {
      const fx = storeFixture("window-expired");
      const open = () =>
        openTestWindowStore(fx, {
          engine,
          name: "expiring",
          cacheBytes: 0,
          retentionMs: RETENTION,
          segmentIntervalMs: MIN,
        });

      it("replays entries older than the retention but never returns them, and drops their segments at the first commit", async () => {
        // the reference, computed here from what was put: every (key, time, value)
        const put: { key: string; time: number; value: string }[] = [];
        let store = await open();
        await store.prefetch([...KEYS, "gone"]);
        store.put("gone", 0, "gone0");
        put.push({ key: "gone", time: 0, value: "gone0" });
        for (let r = 0; r < ROUNDS; r++) {
          for (const [i, key] of KEYS.entries()) {
            const time = r * MIN + i * 1000;
            store.put(key, time, `${key}${r}`);
            put.push({ key, time, value: `${key}${r}` });
          }
          await store.commit();
        }
        const observed = Math.max(...put.map((p) => p.time));
        const line = observed - RETENTION;
        const liveFrom = Math.floor((line + 1) / MIN) * MIN; // first segment not wholly expired
        const readable = put.filter((p) => p.time > line);
        const kept = put
          .filter((p) => p.time >= liveFrom)
          .map((p) => `${p.key}@${p.time}`)
          .sort();
        expect(await engineWindowEntries(store)).toEqual(kept);
        // nothing was tombstoned: the changelog holds every put, expired or not
        const logged = await readPartition(fx.client, "app-expiring-changelog", 0);
        expect(logged.length).toBe(put.length);
        expect(logged.every((r) => r.value !== null)).toBe(true);

        await store.close();
        fx.untrack();
        if (localState === "lost") removeDir(fx.stateDir);
        store = await open();
        expect(store.restored?.records).toBe(localState === "lost" ? put.length : 0);
        expect(store.observedTime).toBe(observed);
        await store.prefetch([...KEYS, "gone"]);
        for (const key of [...KEYS, "gone"]) {
          const want = readable.filter((p) => p.key === key).map((p) => [p.time, p.value]);
          const got = store.fetchRange(key, 0, observed).map((w) => [w.start, w.value]);
          expect(got).toEqual(want);
        }
        const all: string[] = [];
        for await (const w of store.all()) all.push(`${w.key}@${w.start}`);
        expect(all.sort()).toEqual(readable.map((p) => `${p.key}@${p.time}`).sort());
        // the first commit drops what the live store had dropped, and nothing else
        await store.commit();
        expect(await engineWindowEntries(store)).toEqual(kept);
      });
    });
  }
}
