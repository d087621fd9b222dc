import { describe, expect, it } from "vitest";
import { readPartition } from "./helpers.js";
import { openTestWindowStore, storeFixture } from "./store-fixture.js";

/**
 * A buffered entry whose window expires before the commit that would write it (a join
 * catching up on a backlog: event time runs past the retention between two commits) is
 * neither change-logged nor written to the engine; what outlives the commit is, and reads
 * are the same either way.
 */
const MIN = 60_000;

for (const engine of ["memory", "rocksdb"] as const) {
  describe(`a join-buffer window store on ${engine}`, () => {
    const fx = storeFixture("window-unwritten");

    it("writes only the entries still live at the commit; the earlier commit's entries stay written until their segment drops", async () => {
      const store = await openTestWindowStore(fx, {
        engine,
        name: "buffer",
        cacheBytes: 0,
        retentionMs: 2 * MIN,
        segmentIntervalMs: MIN,
        retainDuplicates: true,
      });
      await store.prefetch(["a", "b"]);
      store.put("a", 0, "a@0");
      await store.commit(); // a@0 is live here: written
      // one commit interval of backlog: 0.5 .. 6 min of event time, 0.5 min apart
      const put: { key: string; time: number }[] = [];
      for (let t = MIN / 2; t <= 6 * MIN; t += MIN / 2) {
        const key = t % MIN === 0 ? "a" : "b";
        store.put(key, t, `${key}@${t}`);
        put.push({ key, time: t });
      }
      // by the commit the line is 6 - 2 = 4 min: what is at or below it never goes below
      const line = 6 * MIN - 2 * MIN;
      const live = put.filter((p) => p.time > line);
      await store.commit();
      expect(store.metrics.expiredUnwritten).toBe(put.length - live.length);
      const logged = await readPartition(fx.client, "app-buffer-changelog", 0);
      expect(logged.map((r) => (r.value as Buffer).toString())).toEqual([
        "a@0",
        ...live.map((p) => `${p.key}@${p.time}`),
      ]);
      // the engine: the live ones; a@0's segment (0..1 min) dropped at this commit
      const below: string[] = [];
      for await (const e of store.segments.bytes.range()) below.push(e.value.toString());
      expect(below.sort()).toEqual(live.map((p) => `${p.key}@${p.time}`).sort());
      // reads never depended on it
      for (const key of ["a", "b"]) {
        expect(store.fetchRange(key, 0, 6 * MIN).map((w) => w.value)).toEqual(
          live.filter((p) => p.key === key).map((p) => `${p.key}@${p.time}`),
        );
      }
    });
  });
}
