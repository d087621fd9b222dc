import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KeyNotPrefetchedError, ReservedKeyError } from "../src/errors.js";
import type { KeyValueStore } from "../src/key-value-store.js";
import { openKeyValueStore } from "../src/store-builder.js";
import { bytesSerde, collect, removeDir, stringSerde, tempDir } from "./helpers.js";

/**
 * One contract, every engine and cache setting: what a processor may rely on from a
 * key-value store, whatever sits under it.
 */
const variants = [
  { engine: "memory", cacheBytes: 0 },
  { engine: "memory", cacheBytes: 2048 },
  { engine: "rocksdb", cacheBytes: 0 },
  { engine: "rocksdb", cacheBytes: 2048 },
  { engine: "rocksdb", cacheBytes: 1024 * 1024 },
] as const;

for (const variant of variants) {
  describe(`key-value store contract: ${variant.engine}, cache ${variant.cacheBytes} bytes`, () => {
    let dir: string;
    let store: KeyValueStore<string | null, string>;

    const open = () =>
      openKeyValueStore<string | null, string>({
        applicationId: "app",
        taskId: "0_0",
        name: "counts",
        engine: variant.engine,
        stateDir: dir,
        cacheBytes: variant.cacheBytes,
        keySerde: stringSerde,
        valueSerde: stringSerde,
      });

    beforeEach(async () => {
      dir = tempDir("contract");
      store = await open();
    });
    afterEach(async () => {
      await store.close();
      removeDir(dir);
    });

    it("reads back puts, overwrites and deletes, before and after commit", async () => {
      await store.prefetch(["a", "b", "c", "missing"]);
      expect(store.get("a")).toBeNull();
      store.put("a", "1");
      store.put("b", "2");
      store.put("c", "3");
      store.put("a", "10");
      store.delete("b");
      expect([store.get("a"), store.get("b"), store.get("c"), store.get("missing")]).toEqual([
        "10",
        null,
        "3",
        null,
      ]);
      await store.commit();
      await store.prefetch(["a", "b", "c", "missing"]);
      expect([store.get("a"), store.get("b"), store.get("c"), store.get("missing")]).toEqual([
        "10",
        null,
        "3",
        null,
      ]);
      store.put("b", "20");
      store.put("c", null);
      expect([store.get("b"), store.get("c")]).toEqual(["20", null]);
      await store.commit();
      await store.prefetch(["b", "c"]);
      expect([store.get("b"), store.get("c")]).toEqual(["20", null]);
    });

    it("prefetches a whole batch of committed keys, among absent ones", async () => {
      for (let i = 0; i < 500; i++) store.put(`k${i}`, `v${i}`);
      await store.commit();
      const keys = Array.from({ length: 600 }, (_, i) => `k${i}`);
      await store.prefetch(keys);
      for (let i = 0; i < 600; i++) expect(store.get(`k${i}`)).toBe(i < 500 ? `v${i}` : null);
    });

    it("keeps prefetched keys readable while the batch's puts evict the cache", async () => {
      for (let i = 0; i < 100; i++) store.put(`k${i}`, `v${i}`);
      await store.commit();
      const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
      await store.prefetch(keys);
      for (let i = 0; i < 100; i++) expect(store.get(`k${i}`)).toBe(`v${i}`);
      await store.prefetch(keys);
      for (let i = 0; i < 2000; i++) store.put(`other${i}`, "x".repeat(50));
      for (let i = 0; i < 100; i++) expect(store.get(`k${i}`)).toBe(`v${i}`);
    });

    it("scans ranges in key byte order, merging uncommitted changes over committed ones", async () => {
      const expected = new Map<string, string>();
      for (let i = 0; i < 50; i++) {
        const k = `k${String(i).padStart(2, "0")}`;
        store.put(k, `v${i}`);
        expected.set(k, `v${i}`);
      }
      await store.commit();
      store.put("k10", "changed");
      expected.set("k10", "changed");
      store.delete("k11");
      expected.delete("k11");
      store.put("k105", "new");
      expected.set("k105", "new");
      store.put("a-before", "x");
      expected.set("a-before", "x");

      const all = await collect(store.all());
      expect([...all.keys()]).toEqual([...expected.keys()].sort());
      expect(all).toEqual(expected);

      const range = await collect(store.range("k10", "k13"));
      expect([...range.entries()]).toEqual([
        ["k10", "changed"],
        ["k105", "new"],
        ["k12", "v12"],
      ]);
      const open = await collect(store.range("k48"));
      expect([...open.keys()]).toEqual(["k48", "k49"]);
    });

    it("looks one key up as a scan would see it, committed or not, leaving the prefetch alone", async () => {
      const bytes = (k: string) => Buffer.from(k);
      const text = (v: Buffer | null) => (v === null ? null : v.toString());
      await store.prefetch(["a", "b", "c", "d"]);
      store.put("a", "1");
      store.put("b", "2");
      await store.commit();
      await store.prefetch(["a", "b", "c", "d"]);
      store.put("a", "10"); // uncommitted, maybe only in the cache
      store.delete("b");
      store.put("c", "3");
      const looked = await Promise.all(
        ["a", "b", "c", "d"].map((k) => store.bytes.lookup(bytes(k))),
      );
      expect(looked.map(text)).toEqual(["10", null, "3", null]);
      // the same as the range holding each key alone
      const scanned: (string | null)[] = [];
      for (const k of ["a", "b", "c", "d"]) {
        let v: string | null = null;
        const to = Buffer.concat([bytes(k), Buffer.alloc(1)]);
        for await (const e of store.bytes.range({ from: bytes(k), to })) v = e.value.toString();
        scanned.push(v);
      }
      expect(scanned).toEqual(looked.map(text));
      // the batch's synchronous reads still work: lookup prefetched nothing away
      expect([store.get("a"), store.get("b"), store.get("c"), store.get("d")]).toEqual([
        "10",
        null,
        "3",
        null,
      ]);
    });

    it("counts keys approximately", async () => {
      for (let i = 0; i < 1000; i++) store.put(`k${i}`, `v${i}`);
      await store.commit();
      const n = await store.approximateCount();
      expect(n).toBeGreaterThanOrEqual(500);
      expect(n).toBeLessThanOrEqual(2000);
    });

    it("refuses keys in the range reserved for the store's metadata, and empty keys", async () => {
      const raw = await openKeyValueStore<Buffer | null, Buffer>({
        applicationId: "app",
        taskId: "0_0",
        name: "raw",
        engine: variant.engine,
        stateDir: dir,
        cacheBytes: variant.cacheBytes,
        keySerde: bytesSerde,
        valueSerde: bytesSerde,
      });
      try {
        expect(() => raw.put(Buffer.from([0, 0, 0xff, 1]), Buffer.from("x"))).toThrow(
          ReservedKeyError,
        );
        expect(() => raw.put(Buffer.alloc(0), Buffer.from("x"))).toThrow(/non-empty/);
        raw.put(Buffer.from([0, 0, 0xfe]), Buffer.from("ok"));
        await raw.commit();
        await raw.prefetch([Buffer.from([0, 0, 0xfe])]);
        expect(raw.get(Buffer.from([0, 0, 0xfe]))?.toString()).toBe("ok");
        const keys: string[] = [];
        for await (const [k] of raw.all()) keys.push((k as Buffer).toString("hex"));
        expect(keys).toEqual(["0000fe"]);
      } finally {
        await raw.close();
      }
    });

    if (variant.engine === "rocksdb") {
      it("refuses a synchronous read of a key that was neither cached nor prefetched, naming the store", async () => {
        store.put("a", "1");
        await store.commit();
        await store.close();
        store = await open();
        expect(() => store.get("a")).toThrow(KeyNotPrefetchedError);
        expect(() => store.get("a")).toThrow(/store 'counts'.*not prefetched/);
        await store.prefetch(["a"]);
        expect(store.get("a")).toBe("1");
      });

      it("keeps committed data across close and reopen", async () => {
        for (let i = 0; i < 100; i++) store.put(`k${i}`, `v${i}`);
        await store.commit();
        store.put("uncommitted", "lost");
        await store.close();
        store = await open();
        await store.prefetch(["k0", "k99", "uncommitted"]);
        expect([store.get("k0"), store.get("k99"), store.get("uncommitted")]).toEqual([
          "v0",
          "v99",
          null,
        ]);
      });
    } else {
      it("answers a synchronous read without prefetch", async () => {
        store.put("a", "1");
        await store.commit();
        expect(store.get("a")).toBe("1");
        expect(store.get("b")).toBeNull();
      });
    }
  });
}
