import { expect, it } from "vitest";
import type { Consumer, LogClient } from "../client/log-client.js";
import type { ProducerRecord } from "../record.js";

/**
 * The transaction cases of the LogClient contract (log-client-contract.ts): the same
 * semantics on the embedded log, the broker and Kafka. Registered inside the contract's
 * describe block; `client()` is the current test's client.
 */
export function transactionContractCases(client: () => LogClient): void {
  it("read_committed sees committed transactions and plain records, never aborted ones or markers", async () => {
    const c = client();
    await c.admin.createTopic("txn-out", { partitions: 2 });
    const p = c.transactionalProducer({ transactionalId: "txn-visibility" });
    await p.initTransactions();
    await p.beginTransaction();
    await p.send("txn-out", values(0, 20));
    await p.commitTransaction();
    await p.beginTransaction();
    await p.send("txn-out", values(100, 120));
    await p.abortTransaction();
    await c.producer().send("txn-out", values(200, 210));
    await p.beginTransaction();
    await p.send("txn-out", values(300, 305));
    await p.commitTransaction();
    await p.close();

    const committed = [...range(0, 20), ...range(200, 210), ...range(300, 305)];
    const everything = [...committed, ...range(100, 120)];
    expect(
      (await readTopic(c, "txn-out", 2, "read_committed", committed.length)).sort(byNumber),
    ).toEqual(committed.sort(byNumber));
    // read_uncommitted sees the aborted records too, but never a control record.
    expect(
      (await readTopic(c, "txn-out", 2, "read_uncommitted", everything.length)).sort(byNumber),
    ).toEqual(everything.sort(byNumber));
  });

  it("read_committed stops at an open transaction and reads on once it commits", async () => {
    const c = client();
    await c.admin.createTopic("txn-open", { partitions: 1 });
    const plain = c.producer();
    await plain.send("txn-open", values(0, 3));
    const p = c.transactionalProducer({ transactionalId: "txn-open-1" });
    await p.initTransactions();
    await p.beginTransaction();
    await p.send("txn-open", values(10, 15));
    await plain.send("txn-open", values(20, 22)); // after the open transaction's first offset
    const reader = c.consumer({ isolation: "read_committed" });
    reader.assign([{ topic: "txn-open", partition: 0 }]);
    reader.seek({ topic: "txn-open", partition: 0 }, 0);
    expect(await pollValues(reader, 3, 2_000)).toEqual([0, 1, 2]);
    await p.commitTransaction();
    expect(await pollValues(reader, 7, 60_000)).toEqual([10, 11, 12, 13, 14, 20, 21]);
    await reader.close();
    await p.close();
  });

  it("a read_committed consumer reset to latest starts at the last stable offset, not past an open transaction", async () => {
    const c = client();
    await c.admin.createTopic("txn-latest", { partitions: 1 });
    await c.producer().send("txn-latest", values(0, 3));
    const p = c.transactionalProducer({ transactionalId: "txn-latest-1" });
    await p.initTransactions();
    await p.beginTransaction();
    await p.send("txn-latest", values(10, 13));
    const tp = { topic: "txn-latest", partition: 0 };
    const reader = c.consumer({ isolation: "read_committed", autoOffsetReset: "latest" });
    reader.assign([tp]);
    const deadline = Date.now() + 60_000;
    while (reader.position(tp) === undefined && Date.now() < deadline) {
      await reader.poll({ maxWaitMs: 100 });
    }
    expect(reader.position(tp)).toBe(3);
    await p.commitTransaction();
    expect(await pollValues(reader, 3, 60_000)).toEqual([10, 11, 12]);
    await reader.close();
    await p.close();
  });

  it("offsets sent in a transaction reach the group only when it commits", async () => {
    const c = client();
    await c.admin.createTopic("txn-in", { partitions: 1 });
    await c.admin.createTopic("txn-sink", { partitions: 1 });
    await c.producer().send("txn-in", values(0, 10));
    const consumer = c.consumer({ groupId: "txn-group", autoOffsetReset: "earliest" });
    await consumer.subscribe(["txn-in"]);
    expect(await pollValues(consumer, 10, 60_000)).toHaveLength(10);
    const p = c.transactionalProducer({ transactionalId: "txn-offsets" });
    await p.initTransactions();

    await p.beginTransaction();
    await p.send("txn-sink", values(0, 1));
    await p.sendOffsets([{ topic: "txn-in", partition: 0, offset: 4 }], consumer.groupMetadata());
    await p.abortTransaction();
    expect(await committedOffset(c, "txn-group")).toBeUndefined();

    await p.beginTransaction();
    await p.send("txn-sink", values(1, 2));
    await p.sendOffsets([{ topic: "txn-in", partition: 0, offset: 10 }], consumer.groupMetadata());
    expect(await committedOffset(c, "txn-group")).toBeUndefined();
    await p.commitTransaction();
    // Kafka writes a commit's markers after EndTxn returns: the offsets appear soon after.
    expect(await eventually(() => committedOffset(c, "txn-group"), 10)).toBe(10);
    await p.close();
    await consumer.close();
  });

  it("a new instance fences the old one: its open transaction (records and offsets) is aborted and its calls fail with PRODUCER_FENCED", async () => {
    const c = client();
    await c.admin.createTopic("txn-zombie", { partitions: 1 });
    await c.admin.createTopic("txn-zombie-in", { partitions: 1 });
    await c.producer().send("txn-zombie-in", values(0, 3));
    const consumer = c.consumer({ groupId: "txn-zombie-group", autoOffsetReset: "earliest" });
    await consumer.subscribe(["txn-zombie-in"]);
    expect(await pollValues(consumer, 3, 60_000)).toHaveLength(3);
    const group = consumer.groupMetadata();
    const offsets = [{ topic: "txn-zombie-in", partition: 0, offset: 3 }];

    const old = c.transactionalProducer({ transactionalId: "txn-zombie-id" });
    await old.initTransactions();
    await old.beginTransaction();
    await old.send("txn-zombie", values(0, 5));
    await old.sendOffsets(offsets, group);
    // The new instance wakes: the old one's open transaction is aborted.
    const next = c.transactionalProducer({ transactionalId: "txn-zombie-id" });
    await next.initTransactions();
    await expect(old.send("txn-zombie", values(5, 6))).rejects.toMatchObject({
      code: "PRODUCER_FENCED",
    });
    await expect(old.sendOffsets(offsets, group)).rejects.toMatchObject({
      code: "PRODUCER_FENCED",
    });
    await expect(old.commitTransaction()).rejects.toMatchObject({ code: "PRODUCER_FENCED" });
    expect(await committedOffset(c, "txn-zombie-group")).toBeUndefined();
    await next.beginTransaction();
    await next.send("txn-zombie", values(100, 103));
    await next.commitTransaction();
    // None of the zombie's records, before or after the fencing, is ever visible.
    expect(await readTopic(c, "txn-zombie", 1, "read_committed", 3)).toEqual([100, 101, 102]);
    await old.close();
    await next.close();
    await consumer.close();
  });

  it("refuses a commit without a transaction, a send after an abort, and offsets from a stale generation", async () => {
    const c = client();
    await c.admin.createTopic("txn-hostile", { partitions: 1 });
    await c.producer().send("txn-hostile", values(0, 2));
    const p = c.transactionalProducer({ transactionalId: "txn-hostile-id" });
    await expect(p.beginTransaction()).rejects.toMatchObject({ code: "INVALID_TXN_STATE" });
    await p.initTransactions();
    await expect(p.commitTransaction()).rejects.toMatchObject({ code: "INVALID_TXN_STATE" });
    await p.beginTransaction();
    await p.send("txn-hostile", values(10, 11));
    await p.abortTransaction();
    await expect(p.send("txn-hostile", values(11, 12))).rejects.toMatchObject({
      code: "INVALID_TXN_STATE",
    });

    const consumer = c.consumer({
      groupId: "txn-hostile-group",
      autoOffsetReset: "earliest",
      isolation: "read_committed",
    });
    await consumer.subscribe(["txn-hostile"]);
    expect(await pollValues(consumer, 2, 60_000)).toHaveLength(2);
    const current = consumer.groupMetadata();
    await p.beginTransaction();
    await expect(
      p.sendOffsets([{ topic: "txn-hostile", partition: 0, offset: 2 }], {
        ...current,
        generation: current.generation + 5,
      }),
    ).rejects.toMatchObject({ code: "ILLEGAL_GENERATION" });
    await p.abortTransaction();
    expect(await committedOffset(c, "txn-hostile-group")).toBeUndefined();
    await consumer.close();
    await p.close();
  });
}

function values(from: number, to: number): ProducerRecord[] {
  return range(from, to).map((i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(String(i)) }));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

const byNumber = (a: number, b: number) => a - b;

/** Polls until `count` values arrived or `waitMs` passed; returns them as numbers, in order. */
async function pollValues(consumer: Consumer, count: number, waitMs: number): Promise<number[]> {
  const out: number[] = [];
  const deadline = Date.now() + waitMs;
  while (out.length < count && Date.now() < deadline) {
    for (const fp of await consumer.poll({ maxWaitMs: 100 })) {
      for (const r of fp.records) out.push(Number(r.value!.toString()));
    }
  }
  return out;
}

/**
 * Reads a topic from the start with the given isolation until `count` values arrived,
 * then polls a little longer so that anything extra (an aborted record, a marker handed
 * on as a record) would be seen too.
 */
async function readTopic(
  c: LogClient,
  topic: string,
  partitions: number,
  isolation: "read_committed" | "read_uncommitted",
  count: number,
): Promise<number[]> {
  const consumer = c.consumer({ isolation });
  consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
  for (let p = 0; p < partitions; p++) consumer.seek({ topic, partition: p }, 0);
  const out = await pollValues(consumer, count, 60_000);
  out.push(...(await pollValues(consumer, Number.MAX_SAFE_INTEGER, 500)));
  await consumer.close();
  return out;
}

/** Polls `read` until it returns `want` or 60 s passed; returns the last value read. */
async function eventually<T>(read: () => Promise<T>, want: T): Promise<T> {
  const deadline = Date.now() + 60_000;
  let value = await read();
  while (value !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

async function committedOffset(c: LogClient, groupId: string): Promise<number | undefined> {
  const offsets = await c.admin.fetchCommittedOffsets(groupId);
  return offsets[0]?.offset;
}
