import path from "node:path";
import { describe, expect, it } from "vitest";
import type { CachedChange } from "../src/record-cache.js";
import { PersistentWindowStore } from "../src/processor/persistent-window-store.js";
import type { WindowStore } from "../src/window/window-store.js";
import {
  applyWindowBatch,
  COMMIT_KEY,
  MIN,
  windowBatchKeys,
  windowsAfter,
} from "./fixtures/window-workload.js";
import { openLog, readPartition, runAndKill } from "./helpers.js";
import { openTestWindowStore, storeFixture } from "./store-fixture.js";

/**
 * The window store's write-back and record cache (the resident entries): many updates of
 * a window between two commits reach the changelog once and go downstream once, with the
 * final value; a flush hands on every pending window; nothing is lost when keys are
 * evicted dirty or the process is killed, and the changelog alone restores the store.
 */
const CHANGELOG = "app-windows-changelog";
const here = import.meta.dirname;
const WRITER = path.join(here, "fixtures", "window-crash-writer.ts");

type Store = WindowStore<string | null, string>;

describe("window store write-back and record cache", () => {
  const fx = storeFixture("window-write-back");
  const open = (options: { stateDir?: string; cacheBytes?: number; memory?: boolean } = {}) =>
    openTestWindowStore(fx, {
      engine: options.memory === true ? "memory" : "rocksdb",
      stateDir: options.stateDir ?? fx.stateDir,
      ...(options.cacheBytes === undefined ? {} : { cacheBytes: options.cacheBytes }),
      retentionMs: 1000 * MIN,
      segmentIntervalMs: MIN,
      partition: 1,
    });

  /** Every window of the store as "key@start" -> value (RocksDB: an async scan). */
  const contents = async (s: Store): Promise<Map<string, string>> => {
    const out = new Map<string, string>();
    for await (const w of s.all()) out.set(`${w.key}@${w.start}`, w.value);
    return out;
  };

  it("many updates of one window between two commits append one changelog record, with the final value", async () => {
    const store = await open();
    await store.prefetch(["user"]);
    for (let n = 1; n <= 500; n++) store.put("user", MIN, String(n));
    store.put("user", 2 * MIN, "other");
    await store.commit();
    const logged = await readPartition(fx.client, CHANGELOG, 1);
    expect(logged.length).toBe(2);
    expect(logged.map((r) => r.value?.toString()).sort()).toEqual(["500", "other"]);
    // the next commit appends only what changed since
    store.put("user", MIN, "501");
    await store.commit();
    const again = await readPartition(fx.client, CHANGELOG, 1, 2);
    expect(again.map((r) => r.value?.toString())).toEqual(["501"]);
  });

  it("a flush hands each pending window's final change to the listener once; the old value is what the previous flush handed on", async () => {
    const store = new PersistentWindowStore<string | null, string>(await open());
    store.enableRecordCache(1024 * 1024);
    const got: { key: string | null; start: number; change: CachedChange<string> }[] = [];
    expect(store.setFlushListener((key, start, change) => got.push({ key, start, change }))).toBe(
      true,
    );
    const keys = ["a", "b", "c"];
    await store.prefetch(keys);
    const reference = new Map<string, number>();
    for (let round = 0; round < 50; round++) {
      for (const key of keys) {
        for (const start of [0, MIN]) {
          const old = store.fetch(key, start);
          const next = String(Number(old ?? "0") + 1);
          expect(store.putCached(key, start, next, old, round, {})).toBe(true);
          reference.set(`${key}@${start}`, (reference.get(`${key}@${start}`) ?? 0) + 1);
        }
      }
    }
    expect(got).toEqual([]);
    store.flush();
    // every window once, with its final value and no old value (none was handed on before)
    expect(got.length).toBe(keys.length * 2);
    for (const g of got) {
      expect(g.change).toEqual({
        newValue: String(reference.get(`${g.key}@${g.start}`)),
        oldValue: null,
      });
    }
    got.length = 0;
    store.putCached("a", 0, "x", store.fetch("a", 0), 99, {});
    store.putCached("a", 0, "y", store.fetch("a", 0), 100, {});
    store.flush();
    expect(got).toEqual([{ key: "a", start: 0, change: { newValue: "y", oldValue: "50" } }]);
    // a flush with nothing pending hands on nothing
    got.length = 0;
    store.flush();
    expect(got).toEqual([]);
  });

  it("a put after the key it last read was evicted and read back lands on the entry read back", async () => {
    // budget 0: only the current batch's keys stay resident
    const store = await open({ cacheBytes: 0 });
    await store.prefetch(["a"]);
    store.put("a", 0, "1");
    expect(store.fetch("a", 0)).toBe("1");
    await store.prefetch(["b"]); // evicts "a", its dirty window written below first
    await store.prefetch(["a"]); // read back: new entries
    store.put("a", 0, "2");
    expect(store.fetch("a", 0)).toBe("2");
    await store.commit();
    await store.close();
    const reopened = await open();
    expect(await contents(reopened)).toEqual(new Map([["a@0", "2"]]));
  });

  it("keys evicted with dirty windows under a tiny budget lose nothing: the reopened store and a restore from the changelog alone equal the reference", async () => {
    const store = await open({ cacheBytes: 2048 });
    const batches = 12;
    for (let i = 1; i <= batches; i++) {
      for (const half of [0, 1] as const) {
        await store.prefetch(windowBatchKeys(half));
        applyWindowBatch(store, i, half);
      }
    }
    // no commit in between: windows come back every WINDOWS batches, read after eviction
    const want = windowsAfter(batches);
    expect(await contents(store)).toEqual(want);
    await store.commit();
    await store.close();
    const reopened = await open({ cacheBytes: 2048 });
    expect(await contents(reopened)).toEqual(want);
    const fromChangelog = await open({ memory: true });
    expect(fromChangelog.restored?.records).toBeGreaterThan(0);
    expect(await contents(fromChangelog)).toEqual(want);
  });

  it("SIGKILL during batches and commits: the store reopens at a whole commit at or after the last acknowledged one, and the changelog alone restores the same windows", async () => {
    const logDir = path.join(fx.root, "killed-log");
    const stateDir = path.join(fx.root, "killed-state");
    await fx.client.close();
    let previousAck = 0;
    for (let cycle = 0; cycle < 4; cycle++) {
      const acks = 3 + Math.floor(Math.random() * 20);
      const { started, lastAck } = await runAndKill(WRITER, logDir, stateDir, acks);
      expect(started).toBeGreaterThanOrEqual(previousAck);
      expect(lastAck).toBeGreaterThanOrEqual(started + acks);
      fx.client = await openLog(logDir);
      try {
        const store = await open({ stateDir });
        await store.prefetch([COMMIT_KEY]);
        const m = Number(store.fetch(COMMIT_KEY, 0));
        expect(m).toBeGreaterThanOrEqual(lastAck);
        const want = windowsAfter(m);
        expect(await contents(store)).toEqual(want);
        const fromChangelog = await open({ memory: true });
        expect(await contents(fromChangelog)).toEqual(want);
        await fx.closeAll(false);
        previousAck = lastAck;
      } finally {
        await fx.client.close();
      }
    }
    fx.client = await openLog(path.join(fx.root, "log"));
  }, 240_000);
});
