import { describe, expect, it } from "vitest";
import type { StoreSerde } from "../src/key-value-store.js";
import { removeDir } from "./helpers.js";
import { openTestWindowStore, storeFixture } from "./store-fixture.js";

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

for (const engine of ["memory", "rocksdb"] as const) {
  describe(`a duplicates window store on ${engine}`, () => {
    const fx = storeFixture("frozen-buffer");
    const open = (serde: StoreSerde<Rec | null>) =>
      openTestWindowStore<Rec | null>(
        fx,
        { engine, name: "buffer", cacheBytes: 0, retentionMs: 60_000, retainDuplicates: true },
        serde,
      );

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
      fx.untrack();
      removeDir(fx.stateDir);
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
