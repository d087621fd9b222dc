import { describe, expect, it } from "vitest";
import type { TopicPartition } from "../src/record.js";
import {
  TransactionCoordinator,
  type TransactionMarkers,
} from "../src/transactions/transaction-coordinator.js";
import {
  decodeTransactionValue,
  encodeTransactionValue,
} from "../src/transactions/transaction-record.js";
import { ArrayOffsetJournal } from "./group-helpers.js";

/** Records every marker call; `failNext` makes the next call throw (a crash mid-markers). */
class RecordingMarkers implements TransactionMarkers {
  readonly calls: {
    producerId: number;
    epoch: number;
    commit: boolean;
    partitions: TopicPartition[];
    groups: string[];
  }[] = [];
  failNext = false;
  async write(
    producerId: number,
    epoch: number,
    commit: boolean,
    partitions: readonly TopicPartition[],
    groups: readonly string[],
  ): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("disk gone while writing markers");
    }
    this.calls.push({
      producerId,
      epoch,
      commit,
      partitions: [...partitions],
      groups: [...groups],
    });
  }
}

/**
 * The coordinator over ArrayOffsetJournal, the in-memory stand-in for the state topic the
 * group coordinator's tests use too (same journal contract): each test reopens a
 * coordinator over the same journal to play a broker restart.
 */
function setup(clock = { now: 1_000_000 }) {
  const journal = new ArrayOffsetJournal();
  const markers = new RecordingMarkers();
  let nextId = 1000;
  const open = () =>
    TransactionCoordinator.open({
      journal,
      markers,
      allocateProducerId: async () => nextId++,
      now: () => clock.now,
    });
  return { journal, markers, open, clock };
}

const tp = (topic: string, partition: number) => ({ topic, partition });

describe("transaction coordinator", () => {
  it("runs a transaction: partitions and a group added, committed with one set of markers, and the next begins empty", async () => {
    const { markers, open } = setup();
    const c = await open();
    const { producerId, producerEpoch } = await c.initProducerId("app-0_1", 60_000);
    expect(producerEpoch).toBe(0);
    await c.addPartitions("app-0_1", producerId, 0, [tp("out", 1), tp("changelog", 1)]);
    await c.addPartitions("app-0_1", producerId, 0, [tp("out", 1)]);
    await c.addGroup("app-0_1", producerId, 0, "app");
    expect(c.describe("app-0_1")?.status).toBe("Ongoing");
    await c.endTransaction("app-0_1", producerId, 0, true);
    expect(markers.calls).toEqual([
      {
        producerId,
        epoch: 0,
        commit: true,
        partitions: [tp("out", 1), tp("changelog", 1)],
        groups: ["app"],
      },
    ]);
    expect(c.describe("app-0_1")?.status).toBe("CompleteCommit");
    // A retried end with the same decision succeeds without writing markers again.
    await c.endTransaction("app-0_1", producerId, 0, true);
    expect(markers.calls).toHaveLength(1);
    await expect(c.endTransaction("app-0_1", producerId, 0, false)).rejects.toMatchObject({
      code: "INVALID_TXN_STATE",
    });
    await c.addPartitions("app-0_1", producerId, 0, [tp("out", 0)]);
    expect(c.describe("app-0_1")?.partitions).toEqual([tp("out", 0)]);
  });

  it("fences an older instance: a new initProducerId aborts what it left open, with a bumped epoch on the markers", async () => {
    const { markers, open } = setup();
    const c = await open();
    const old = await c.initProducerId("t", 60_000);
    await c.addPartitions("t", old.producerId, old.producerEpoch, [tp("out", 0)]);
    const next = await c.initProducerId("t", 60_000);
    expect(next.producerId).toBe(old.producerId);
    // Markers at epoch 1 fence epoch 0 at the partition; the new instance gets epoch 2.
    expect(markers.calls).toEqual([
      {
        producerId: old.producerId,
        epoch: 1,
        commit: false,
        partitions: [tp("out", 0)],
        groups: [],
      },
    ]);
    expect(next.producerEpoch).toBe(2);
    for (const attempt of [
      () => c.addPartitions("t", old.producerId, old.producerEpoch, [tp("out", 1)]),
      () => c.endTransaction("t", old.producerId, old.producerEpoch, true),
    ]) {
      await expect(attempt()).rejects.toMatchObject({ code: "PRODUCER_FENCED" });
    }
    await expect(c.addPartitions("t", 999, 2, [tp("out", 1)])).rejects.toMatchObject({
      code: "INVALID_PRODUCER_ID_MAPPING",
    });
  });

  it("finishes a decided transaction after a crash between its decision and its markers", async () => {
    const { markers, open } = setup();
    const c = await open();
    const p = await c.initProducerId("t", 60_000);
    await c.addPartitions("t", p.producerId, p.producerEpoch, [tp("out", 0), tp("out", 1)]);
    markers.failNext = true;
    await expect(c.endTransaction("t", p.producerId, p.producerEpoch, true)).rejects.toThrow(
      /disk gone/,
    );
    expect(c.describe("t")?.status).toBe("PrepareCommit");
    // The broker restarts: the journal says commit was decided, so the markers are written.
    const reopened = await open();
    expect(markers.calls).toEqual([
      {
        producerId: p.producerId,
        epoch: 0,
        commit: true,
        partitions: [tp("out", 0), tp("out", 1)],
        groups: [],
      },
    ]);
    expect(reopened.describe("t")?.status).toBe("CompleteCommit");
    // The producer's retried commit succeeds: the outcome it asked for stands.
    await reopened.endTransaction("t", p.producerId, p.producerEpoch, true);
    expect(markers.calls).toHaveLength(1);
  });

  it("aborts a transaction open past its timeout and fences its producer", async () => {
    const { markers, open, clock } = setup();
    const c = await open();
    const p = await c.initProducerId("slow", 5_000);
    await c.addPartitions("slow", p.producerId, p.producerEpoch, [tp("out", 0)]);
    clock.now += 4_999;
    expect(await c.abortTimedOut()).toEqual([]);
    clock.now += 1;
    expect(await c.abortTimedOut()).toEqual(["slow"]);
    expect(markers.calls).toEqual([
      { producerId: p.producerId, epoch: 1, commit: false, partitions: [tp("out", 0)], groups: [] },
    ]);
    await expect(
      c.endTransaction("slow", p.producerId, p.producerEpoch, true),
    ).rejects.toMatchObject({ code: "PRODUCER_FENCED" });
    // It survives a restart as aborted, and the producer can start over.
    const reopened = await open();
    expect(reopened.describe("slow")).toMatchObject({ status: "CompleteAbort", producerEpoch: 1 });
    expect((await reopened.initProducerId("slow", 5_000)).producerEpoch).toBe(2);
  });

  it("keeps an open transaction open across a restart, and a new producer id after the last epoch", async () => {
    const { open } = setup();
    const c = await open();
    const p = await c.initProducerId("t", 60_000);
    await c.addPartitions("t", p.producerId, p.producerEpoch, [tp("out", 0)]);
    const reopened = await open();
    expect(reopened.describe("t")).toMatchObject({ status: "Ongoing", partitions: [tp("out", 0)] });
    await reopened.endTransaction("t", p.producerId, p.producerEpoch, false);

    let last = await reopened.initProducerId("e", 60_000);
    const first = last.producerId;
    for (let i = 0; i < 32_767; i++) last = await reopened.initProducerId("e", 60_000);
    expect(last.producerEpoch).toBe(32_767);
    const wrapped = await reopened.initProducerId("e", 60_000);
    expect(wrapped).toEqual({ producerId: expect.any(Number), producerEpoch: 0 });
    expect(wrapped.producerId).not.toBe(first);
  }, 60_000);

  it("forgets idle transactional ids with a tombstone, and refuses bad ids and timeouts by name", async () => {
    const { open, clock, journal } = setup();
    const c = await open();
    await c.initProducerId("idle", 60_000);
    clock.now += 1000;
    expect(await c.expireIdle(7 * 86_400_000)).toEqual([]);
    clock.now += 7 * 86_400_000;
    expect(await c.expireIdle(7 * 86_400_000)).toEqual(["idle"]);
    expect(journal.records.at(-1)?.value).toBeNull();
    expect((await open()).describe("idle")).toBeUndefined();

    await expect(c.initProducerId("", 1000)).rejects.toThrow(
      /transactional id '' must be 1 to 249/,
    );
    await expect(c.initProducerId("t", 0)).rejects.toThrow(
      /transaction timeout 0 ms .*expected 1 to 900000/,
    );
    await expect(c.initProducerId("t", 900_001)).rejects.toThrow(/transaction.max.timeout.ms/);
  });

  it("state records round-trip, and a damaged one is refused naming the id", () => {
    const m = {
      transactionalId: "t",
      producerId: 2 ** 40 + 7,
      producerEpoch: 3,
      timeoutMs: 60_000,
      status: "Ongoing" as const,
      partitions: [tp("orders-é", 3), tp("out", 0)],
      groups: ["g1", "g2"],
      offsets: [
        { groupId: "g1", topic: "in", partition: 2, offset: 2 ** 35 + 1, metadata: "m" },
        { groupId: "g2", topic: "in-é", partition: 0, offset: 0 },
      ],
      startedAt: 1_700_000_000_123,
      updatedAt: 1_700_000_000_456,
    };
    const bytes = encodeTransactionValue(m);
    expect(decodeTransactionValue("t", bytes)).toEqual(m);
    expect(() => decodeTransactionValue("t", bytes.subarray(0, bytes.length - 3))).toThrow(
      /transaction state of 't' .* is malformed/,
    );
  });
});
