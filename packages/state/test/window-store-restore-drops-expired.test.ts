import path from "node:path";
import type { LogClient } from "@tributary/log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openWindowStore, type WindowStore } from "../src/window/window-store.js";
import { openLog, readPartition, removeDir, stringSerde, tempDir } from "./helpers.js";

/**
 * Expired segments leave no tombstones, so a window store's changelog still holds entries
 * older than the retention when a store restores from it. The restored store must equal
 * the live one: those entries never read, and gone from the engine after the first commit.
 */
const MIN = 60_000;
const RETENTION = 3 * MIN;
const KEYS = ["a", "b", "c", "d", "e"];
const ROUNDS = 10;

type Store = WindowStore<string | null, string>;

/** Every entry below the typed layer (no time filter), as `key@time`, sorted. */
async function engineEntries(store: Store): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.segments.bytes.range()) {
    const len = e.key.readUInt32BE(8);
    const time = Number(e.key.readBigInt64BE(12 + len));
    out.push(`${e.key.toString("latin1", 12, 12 + len)}@${time}`);
  }
  return out.sort();
}

for (const engine of ["memory", "rocksdb"] as const) {
  for (const localState of engine === "rocksdb" ? ["kept", "lost"] : ["lost"]) {
    describe(`window store restore on ${engine}, local state ${localState}`, () => {
      let root: string;
      let client: LogClient;
      const stores: Store[] = [];
      const open = async () => {
        const s = await openWindowStore<string | null, string>({
          applicationId: "app",
          taskId: "0_0",
          name: "expiring",
          engine,
          stateDir: path.join(root, "state"),
          cacheBytes: 0,
          keySerde: stringSerde,
          valueSerde: stringSerde,
          retentionMs: RETENTION,
          segmentIntervalMs: MIN,
          changelog: { client, partition: 0, createWithPartitions: 1 },
        });
        stores.push(s);
        return s;
      };

      beforeEach(async () => {
        root = tempDir("window-expired");
        client = await openLog(path.join(root, "log"));
      });
      afterEach(async () => {
        for (const s of stores.splice(0)) await s.close().catch(() => {});
        await client.close();
        removeDir(root);
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
        expect(await engineEntries(store)).toEqual(kept);
        // nothing was tombstoned: the changelog holds every put, expired or not
        const logged = await readPartition(client, "app-expiring-changelog", 0);
        expect(logged.length).toBe(put.length);
        expect(logged.every((r) => r.value !== null)).toBe(true);

        await store.close();
        stores.length = 0;
        if (localState === "lost") removeDir(path.join(root, "state"));
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
        expect(await engineEntries(store)).toEqual(kept);
      });
    });
  }
}
