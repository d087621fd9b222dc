import path from "node:path";
import type { LogClient } from "@tributary/log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommitBarrier } from "../src/commit-barrier.js";
import { openWindowStore } from "../src/window/window-store.js";
import { openLog, readPartition, removeDir, stringSerde, tempDir } from "./helpers.js";

// Exactly-once seals a transaction once `barrier.appended()` resolves: every store whose
// commit has started must have entered the barrier by then (synchronously, when its
// commit() is called). A RocksDB window store whose segments had just expired scanned
// them (an async RocksDB range) BEFORE its change-logging layer entered: the committer saw
// no store in the round, committed the transaction, and the store's changelog append then
// reached the transactional producer outside any transaction ("no transaction is open":
// the EOS standby failover scenario's worker failure after a rebalance). Expired segments
// are now dropped synchronously as engine ranges, with nothing awaited before the layers'
// commit; this keeps that order proved. Real RocksDB, real embedded log.

const MIN = 60_000;
const CHANGELOG = "app-windows-changelog";

describe("a RocksDB window store with expired segments under a CommitBarrier", () => {
  let root: string;
  let client: LogClient;

  beforeEach(async () => {
    root = tempDir("window-expiry-barrier");
    client = await openLog(path.join(root, "log"));
  });
  afterEach(async () => {
    await client.close();
    removeDir(root);
  });

  it("appends before appended() resolves, and the expired windows are dropped without tombstones", async () => {
    const barrier = new CommitBarrier();
    const open = () =>
      openWindowStore<string | null, string>({
        applicationId: "app",
        taskId: "0_1",
        name: "windows",
        engine: "rocksdb",
        stateDir: path.join(root, "state"),
        keySerde: stringSerde,
        valueSerde: stringSerde,
        retentionMs: 10 * MIN,
        segmentIntervalMs: MIN,
        changelog: { client, partition: 1, createWithPartitions: 2, barrier },
      });
    const store = await open();
    const old = ["a", "b", "c"];
    for (const k of old) store.put(k, 0, `old-${k}`);
    const first = store.commit();
    await barrier.appended();
    barrier.release();
    await first;
    expect((await readPartition(client, CHANGELOG, 1)).length).toBe(old.length);

    // stream time jumps an hour: the first segments expire, and this commit's scan of
    // them must not delay the store's entry into the round
    store.put("new", 60 * MIN, "fresh");
    const second = store.commit();
    await barrier.appended();
    const appended = await readPartition(client, CHANGELOG, 1);
    const fresh = appended.slice(old.length).filter((r) => r.value?.toString() === "fresh");
    expect(fresh.length).toBe(1);
    barrier.release();
    await second;

    // the expired segments are dropped from RocksDB whole and the changelog forgets them
    // by time (compact,delete), so no round carries a tombstone for them
    const third = store.commit();
    await barrier.appended();
    barrier.release();
    await third;
    const all = await readPartition(client, CHANGELOG, 1);
    const tombstones = all.filter((r) => r.value === null).length;
    expect(tombstones).toBe(0);
    const live: string[] = [];
    for await (const w of store.all()) live.push(`${w.key}@${w.start}`);
    expect(live).toEqual([`new@${60 * MIN}`]);
    await store.close();
  });
});
