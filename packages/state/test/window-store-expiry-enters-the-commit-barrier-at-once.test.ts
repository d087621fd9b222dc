import { describe, expect, it } from "vitest";
import { CommitBarrier } from "../src/commit-barrier.js";
import { readPartition } from "./helpers.js";
import { commitReleased, openTestWindowStore, storeFixture } from "./store-fixture.js";

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
  const fx = storeFixture("window-expiry-barrier");

  it("appends before appended() resolves, and the expired windows are dropped without tombstones", async () => {
    const barrier = new CommitBarrier();
    const store = await openTestWindowStore(fx, {
      retentionMs: 10 * MIN,
      segmentIntervalMs: MIN,
      partition: 1,
      barrier,
      untracked: true,
    });
    const old = ["a", "b", "c"];
    for (const k of old) store.put(k, 0, `old-${k}`);
    await commitReleased(store, barrier);
    expect((await readPartition(fx.client, CHANGELOG, 1)).length).toBe(old.length);

    // stream time jumps an hour: the first segments expire, and this commit's scan of
    // them must not delay the store's entry into the round
    store.put("new", 60 * MIN, "fresh");
    const second = store.commit();
    await barrier.appended();
    const appended = await readPartition(fx.client, CHANGELOG, 1);
    const fresh = appended.slice(old.length).filter((r) => r.value?.toString() === "fresh");
    expect(fresh.length).toBe(1);
    barrier.release();
    await second;

    // the expired segments are dropped from RocksDB whole and the changelog forgets them
    // by time (compact,delete), so no round carries a tombstone for them
    await commitReleased(store, barrier);
    const all = await readPartition(fx.client, CHANGELOG, 1);
    const tombstones = all.filter((r) => r.value === null).length;
    expect(tombstones).toBe(0);
    const live: string[] = [];
    for await (const w of store.all()) live.push(`${w.key}@${w.start}`);
    expect(live).toEqual([`new@${60 * MIN}`]);
    await store.close();
  });
});
