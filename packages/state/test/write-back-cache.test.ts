import path from "node:path";
import type { LogClient } from "@tributary/log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CachingStore } from "../src/caching-store.js";
import {
  CHANGELOG,
  collect,
  foldChangelog,
  openLog,
  openLoggedStore,
  readPartition,
  removeDir,
  tempDir,
} from "./helpers.js";

describe("write-back cache", () => {
  let root: string;
  let stateDir: string;
  let client: LogClient;

  beforeEach(async () => {
    root = tempDir("cache");
    stateDir = path.join(root, "state");
    client = await openLog(path.join(root, "log"));
  });
  afterEach(async () => {
    await client.close();
    removeDir(root);
  });

  const cacheOf = (store: { bytes: unknown }) => store.bytes as CachingStore;

  it("holds puts until commit, then sends the latest value of each key to the changelog exactly once", async () => {
    const store = await openLoggedStore({ client, stateDir, cacheBytes: 1024 * 1024 });
    try {
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 10; i++) store.put(`k${i}`, `v${i}.${round}`);
      }
      store.delete("k3");
      expect(await readPartition(client, CHANGELOG, 1)).toEqual([]);
      expect(cacheOf(store).cacheStats().flushes).toBe(0);

      await store.commit();
      const records = await readPartition(client, CHANGELOG, 1);
      expect(records.map((r) => [r.key?.toString(), r.value?.toString() ?? null]).sort()).toEqual(
        Array.from({ length: 10 }, (_, i) => [`k${i}`, i === 3 ? null : `v${i}.4`]).sort(),
      );
      expect(cacheOf(store).cacheStats().flushes).toBe(1);

      // Nothing dirty: a second commit appends nothing.
      await store.commit();
      expect(await readPartition(client, CHANGELOG, 1)).toHaveLength(10);
    } finally {
      await store.close();
    }
  });

  it("flushes when full, keeps evicted keys readable, and each flush reaches the changelog once", async () => {
    const store = await openLoggedStore({ client, stateDir, cacheBytes: 8 * 1024 });
    const expected = new Map<string, string>();
    try {
      for (let i = 0; i < 2000; i++) {
        const k = `k${i % 400}`;
        const v = `value-${i}`;
        store.put(k, v);
        expected.set(k, v);
      }
      const stats = cacheOf(store).cacheStats();
      expect(stats.flushes).toBeGreaterThan(0);
      expect(stats.evictions).toBeGreaterThan(0);
      expect(stats.bytes).toBeLessThanOrEqual(8 * 1024);

      // Evicted and not yet committed: read from the change-logging layer's pending changes.
      for (const [k, v] of expected) expect(store.get(k)).toBe(v);

      await store.commit();
      const records = await readPartition(client, CHANGELOG, 1);
      // Changes flushed several times between commits are appended once, latest value.
      expect(records).toHaveLength(400);
      expect(foldChangelog(records)).toEqual(expected);

      // After commit the evicted keys come from RocksDB through prefetch.
      await store.prefetch(expected.keys());
      for (const [k, v] of expected) expect(store.get(k)).toBe(v);
      expect(await collect(store.all())).toEqual(expected);
    } finally {
      await store.close();
    }
  });

  it("asks for a commit once enough flushed changes are pending", async () => {
    const store = await openLoggedStore({
      client,
      stateDir,
      cacheBytes: 2048,
      commitThresholdBytes: 16 * 1024,
    });
    try {
      let i = 0;
      while (!store.commitNeeded() && i < 10_000) store.put(`k${i++}`, "x".repeat(100));
      expect(store.commitNeeded()).toBe(true);
      expect(i).toBeGreaterThan(50);
      expect(i).toBeLessThan(10_000);
      await store.commit();
      expect(store.commitNeeded()).toBe(false);
      expect(store.changelogOffset).toBe(i);
    } finally {
      await store.close();
    }
  });

  it("a range scan sees each dirty entry as it was when the scan began, though puts re-encode them while it runs", async () => {
    const store = await openLoggedStore({ client, stateDir, cacheBytes: 1024 * 1024 });
    try {
      for (let i = 0; i < 100; i++) store.put(`k${String(i).padStart(3, "0")}`, `a${i}`);
      const seen: [string | null, string][] = [];
      for await (const [k, v] of store.range()) {
        // the scan awaits between entries: an interactive query runs while the task writes
        if (seen.length === 0) {
          for (let i = 0; i < 100; i++) store.put(`k${String(i).padStart(3, "0")}`, `b${i}`);
        }
        seen.push([k, v]);
      }
      expect(seen).toEqual(
        Array.from({ length: 100 }, (_, i) => [`k${String(i).padStart(3, "0")}`, `a${i}`]),
      );
    } finally {
      await store.close();
    }
  });
});
