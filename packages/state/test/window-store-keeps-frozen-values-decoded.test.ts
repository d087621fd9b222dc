import path from "node:path";
import type { LogClient } from "@tributary/log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StoreSerde } from "../src/key-value-store.js";
import { openWindowStore, type WindowStore } from "../src/window/window-store.js";
import { openLog, removeDir, tempDir } from "./helpers.js";

/**
 * A store keeping duplicates (a join buffer) keeps a value it cannot see change — a
 * primitive or a frozen object — decoded beside its bytes, so every fetch returns it
 * without deserializing; any other object is deserialized per fetch, so a caller changing
 * it (or what it put) never changes what the store holds. Bytes below are the same either way.
 */
interface Rec {
  seq: number;
  value: string;
}

/** JSON, counting decodes: the store's memo is what this test watches. */
function countingSerde(): StoreSerde<Rec | null> & { decodes: number } {
  const s = {
    decodes: 0,
    serialize: (v: Rec | null) => (v === null ? null : Buffer.from(JSON.stringify(v))),
    deserialize: (b: Buffer | null) => {
      s.decodes++;
      return b === null ? null : (JSON.parse(b.toString()) as Rec);
    },
  };
  return s;
}

const stringKey: StoreSerde<string | null> = {
  serialize: (k) => (k === null ? null : Buffer.from(k)),
  deserialize: (b) => (b === null ? null : b.toString()),
};

for (const engine of ["memory", "rocksdb"] as const) {
  describe(`a duplicates window store on ${engine}`, () => {
    let root: string;
    let client: LogClient;
    const stores: WindowStore<string | null, Rec | null>[] = [];
    const open = async (serde: StoreSerde<Rec | null>) => {
      const s = await openWindowStore<string | null, Rec | null>({
        applicationId: "app",
        taskId: "0_0",
        name: "buffer",
        engine,
        stateDir: path.join(root, "state"),
        cacheBytes: 0,
        keySerde: stringKey,
        valueSerde: serde,
        retentionMs: 60_000,
        retainDuplicates: true,
        changelog: { client, partition: 0, createWithPartitions: 1 },
      });
      stores.push(s);
      return s;
    };

    beforeEach(async () => {
      root = tempDir("frozen-buffer");
      client = await openLog(path.join(root, "log"));
    });
    afterEach(async () => {
      for (const s of stores.splice(0)) await s.close().catch(() => {});
      await client.close();
      removeDir(root);
    });

    it("fetches a frozen value as it was put without decoding; a mutable one decoded anew each time; both the same after restore", async () => {
      const serde = countingSerde();
      let store = await open(serde);
      await store.prefetch(["k"]);
      const frozen = Object.freeze({ seq: 1, value: "a" });
      const mutable = { seq: 2, value: "b" };
      store.put("k", 1000, frozen);
      store.put("k", 2000, mutable);
      mutable.value = "changed after the put";
      for (let i = 0; i < 3; i++) {
        const [f, m] = store.fetchRange("k", 0, 5000);
        expect(f!.value).toBe(frozen);
        expect(m!.value).toEqual({ seq: 2, value: "b" });
        (m!.value as Rec).value = "changed by a reader";
      }
      expect(serde.decodes).toBe(3); // the mutable one, once per fetch
      await store.commit();
      await store.close();
      stores.length = 0;
      removeDir(path.join(root, "state"));
      const again = countingSerde();
      store = await open(again);
      await store.prefetch(["k"]);
      expect(store.fetchRange("k", 0, 5000).map((w) => w.value)).toEqual([
        { seq: 1, value: "a" },
        { seq: 2, value: "b" },
      ]);
    });
  });
}
