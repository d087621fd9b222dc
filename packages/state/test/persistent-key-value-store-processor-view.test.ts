import path from "node:path";
import type { LogClient } from "@tributary/log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type CachedChange,
  KeyNotPrefetchedError,
  PersistentKeyValueStore,
  StateStoreError,
  type StoreChange,
} from "../src/index.js";
import { openLog, openLoggedStore, removeDir, tempDir } from "./helpers.js";

/** Stands for the error a caller maps a miss to (streams' PrefetchMissError). */
class MissInTask extends Error {}

describe("PersistentKeyValueStore: the processor's view of a RocksDB key-value store", () => {
  let root: string;
  let stateDir: string;
  let client: LogClient;

  beforeEach(async () => {
    root = tempDir("processor-view");
    stateDir = path.join(root, "state");
    client = await openLog(path.join(root, "log"));
  });
  afterEach(async () => {
    await client.close();
    removeDir(root);
  });

  /** A store holding a=1, b=2 on disk only (committed, closed, opened again). */
  async function storeOnDisk() {
    const first = await openLoggedStore({ client, stateDir });
    first.put("a", "1");
    first.put("b", "2");
    await first.commit();
    await first.close();
    return openLoggedStore({ client, stateDir });
  }

  it("reads prefetched keys synchronously, and a key not prefetched throws the caller's error", async () => {
    const inner = await storeOnDisk();
    const store = new PersistentKeyValueStore(inner, {
      onMiss: (e) => new MissInTask(`task 0_1: ${e.message}`, { cause: e }),
    });
    try {
      let miss: unknown;
      try {
        store.get("a");
      } catch (e) {
        miss = e;
      }
      expect(miss).toBeInstanceOf(MissInTask);
      expect((miss as Error).cause).toBeInstanceOf(KeyNotPrefetchedError);

      await store.prefetch(["a", "zz"]);
      expect(store.get("a")).toBe("1");
      expect(store.get("zz")).toBeUndefined(); // absent is undefined, not null
      // Without a mapping the engine's own error comes through.
      const plain = new PersistentKeyValueStore(inner);
      expect(() => plain.get("b")).toThrow(KeyNotPrefetchedError);
      // No synchronous scan over RocksDB.
      expect(() => store.all()).toThrow(StateStoreError);
    } finally {
      store.close();
      await store.closed();
    }
  });

  it("tells change listeners every write, and its record cache hands each key's latest change on at flush only", async () => {
    const inner = await storeOnDisk();
    const store = new PersistentKeyValueStore(inner);
    const changes: StoreChange<string | null, string>[] = [];
    const flushed: [string | null, CachedChange<string>][] = [];
    try {
      await store.prefetch(["a", "b", "c"]);
      store.addChangeListener((c) => changes.push(c));
      store.put("c", "3");
      expect(store.delete("a")).toBe("1");
      expect(changes).toEqual([
        { store: "store", key: "c", newValue: "3", oldValue: null },
        { store: "store", key: "a", newValue: null, oldValue: "1" },
      ]);

      expect(store.setFlushListener(() => {})).toBe(false); // off until enabled
      store.enableRecordCache(1024 * 1024);
      expect(store.setFlushListener((k, c) => flushed.push([k, c]))).toBe(true);
      for (const v of ["20", "21", "22"]) store.putCached("b", v, store.get("b") ?? null, 1, {});
      expect(store.get("b")).toBe("22"); // written through at once
      expect(flushed).toEqual([]);
      expect([...(store.pendingKeys() ?? [])]).toEqual(["b"]);
      store.flush();
      expect(flushed).toEqual([["b", { newValue: "22", oldValue: "2" }]]);

      await store.commit();
      expect(store.approximateNumEntries()).toBeGreaterThan(0);
    } finally {
      store.close();
      await store.closed();
    }
  });
});
