import { describe, expect, it } from "vitest";
import { CommitBarrier } from "../src/commit-barrier.js";
import { StoreCommitFailedError } from "../src/errors.js";
import { openKeyValueStore } from "../src/store-builder.js";
import { CHANGELOG, readPartition, stringSerde } from "./helpers.js";
import { commitReleased, storeFixture } from "./store-fixture.js";

// Exactly-once's store half (streams' exactly-once-commit.ts): with a CommitBarrier, a
// commit appends to the changelog and then waits; the RocksDB batch (data + changelog
// offset) is written only when the barrier is released (the transaction committed). An
// abort fails the commit and leaves RocksDB at the previous commit's offset, so reopening
// restores from there, not from empty. Real RocksDB, real embedded log.

describe("a store commit under a CommitBarrier", () => {
  const fx = storeFixture("barrier");

  const open = (barrier?: CommitBarrier) =>
    openKeyValueStore<string | null, string>({
      applicationId: "app",
      taskId: "0_1",
      name: "store",
      stateDir: fx.stateDir,
      keySerde: stringSerde,
      valueSerde: stringSerde,
      changelog: {
        client: fx.client,
        partition: 1,
        createWithPartitions: 2,
        ...(barrier === undefined ? {} : { barrier }),
      },
    });

  it("writes RocksDB only after release; an abort keeps the last committed batch and offset", async () => {
    const barrier = new CommitBarrier();
    const store = await open(barrier);
    for (let i = 0; i < 50; i++) store.put(`k${i}`, `v${i}`);
    const first = store.commit();
    await barrier.appended();
    // appended (the transaction would now commit), RocksDB not written yet
    expect((await readPartition(fx.client, CHANGELOG, 1)).length).toBe(50);
    expect(store.changelogOffset).toBeNull();
    barrier.release();
    await first;
    expect(store.changelogOffset).toBe(50);

    for (let i = 0; i < 30; i++) store.put(`k${i}`, `w${i}`);
    const second = store.commit();
    await barrier.appended();
    expect((await readPartition(fx.client, CHANGELOG, 1)).length).toBe(80);
    barrier.abort(new Error("transaction aborted in the test"));
    await expect(second).rejects.toBeInstanceOf(StoreCommitFailedError);
    expect(store.changelogOffset).toBe(50);
    // the store refuses use until reopened: nothing uncommitted can leak into a next commit
    store.put("k0", "x");
    await expect(store.commit()).rejects.toBeInstanceOf(StoreCommitFailedError);
    await store.close();

    // Reopened, it restores from its own offset (the same RocksDB, not rebuilt): only the
    // tail after 50, which here, with no transactions on this log, is the aborted round.
    const reopened = await open();
    expect(reopened.restored?.from).toBe(50);
    expect(reopened.restored?.records).toBe(30);
    await reopened.close();
  });

  it("a round whose append fails is reported by appended() and never written", async () => {
    const barrier = new CommitBarrier();
    const store = await open(barrier);
    store.put("a", "1");
    await commitReleased(store, barrier);
    await fx.client.admin.deleteTopic(CHANGELOG);
    store.put("b", "2");
    const failing = store.commit();
    await expect(barrier.appended()).rejects.toBeDefined();
    barrier.abort(new Error("append failed"));
    await expect(failing).rejects.toBeInstanceOf(StoreCommitFailedError);
    expect(store.changelogOffset).toBe(1);
    await store.close();
  });
  it("refuses a store that enters after the round was sealed, before appending anything", async () => {
    const barrier = new CommitBarrier();
    const store = await open(barrier);
    // the committer saw every store of the round arrive (none) and commits the transaction
    await barrier.appended();
    store.put("late", "1");
    const late = store.commit();
    await expect(late).rejects.toBeInstanceOf(StoreCommitFailedError);
    await expect(late).rejects.toThrow(/after the round was sealed/);
    // nothing reached the changelog outside the transaction, and the store refuses use
    expect(await readPartition(fx.client, CHANGELOG, 1)).toEqual([]);
    await expect(store.commit()).rejects.toBeInstanceOf(StoreCommitFailedError);
    // the next round (after the transaction committed) accepts entries again
    barrier.release();
    await store.close();
    const reopened = await open(barrier);
    reopened.put("next", "2");
    await commitReleased(reopened, barrier);
    expect(reopened.changelogOffset).toBe(1);
    await reopened.close();
  });
});
