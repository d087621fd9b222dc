import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ServiceLogClient } from "../src/client/service-log-client.js";
import { encodeControlBatch } from "../src/control-batch.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { encodeBatch, TRANSACTIONAL_FLAG } from "../src/record-batch.js";
import { PartitionLog } from "../src/storage/partition-log.js";
import { resolveTopicConfig } from "../src/topic-config.js";
import { TRANSACTION_STATE_TOPIC } from "../src/transactions/log-transactions.js";
import {
  encodeTransactionKey,
  encodeTransactionValue,
} from "../src/transactions/transaction-record.js";
import { removeTempDirs, tempDir } from "./storage-helpers.js";

afterEach(removeTempDirs);

const value = (i: number) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(String(i)) });

async function open(dir = tempDir(), timeoutCheckMs = 50) {
  const service = await EmbeddedLogService.open(dir, {
    maintenanceIntervalMs: 0,
    transactionTimeoutCheckIntervalMs: timeoutCheckMs,
  });
  return { service, client: new ServiceLogClient(service) };
}

describe("transactions on the embedded log", () => {
  it("aborts a hung transaction at its timeout: read_committed moves past it and its producer is fenced", async () => {
    const { service, client } = await open();
    await client.admin.createTopic("hung", { partitions: 1 });
    const p = client.transactionalProducer({
      transactionalId: "hung-1",
      transactionTimeoutMs: 300,
    });
    await p.initTransactions();
    await p.beginTransaction();
    await p.send("hung", [value(0), value(1)]);
    await client.producer().send("hung", [value(2)]);
    expect((await service.describeTopic("hung")).partitions[0]!.logEndOffset).toBe(3);

    const reader = client.consumer({ isolation: "read_committed" });
    reader.assign([{ topic: "hung", partition: 0 }]);
    reader.seek({ topic: "hung", partition: 0 }, 0);
    const seen: string[] = [];
    const deadline = Date.now() + 60_000;
    while (seen.length < 1 && Date.now() < deadline) {
      for (const fp of await reader.poll({ maxWaitMs: 100 })) {
        for (const r of fp.records) seen.push(r.value!.toString());
      }
    }
    // Only the plain record: the hung transaction's two were aborted by the timeout.
    expect(seen).toEqual(["2"]);
    // The markers are written before the end is journalled: wait for the end.
    const until = Date.now() + 60_000;
    while (service.transactionState("hung-1")?.status !== "CompleteAbort" && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(service.transactionState("hung-1")?.status).toBe("CompleteAbort");
    await expect(p.commitTransaction()).rejects.toMatchObject({ code: "PRODUCER_FENCED" });
    await expect(p.beginTransaction()).rejects.toMatchObject({ code: "PRODUCER_FENCED" });
    await reader.close();
    await client.close();
  });

  it("refuses hostile transaction requests with errors that name the problem", async () => {
    const { service, client } = await open();
    await client.admin.createTopic("h", { partitions: 1 });
    const longId = "x".repeat(250);
    expect(() => client.transactionalProducer({ transactionalId: longId })).toThrow(
      /transactional id 'x+' must be 1 to 249 characters/,
    );
    await expect(
      service.initProducerId({ transactionalId: longId, transactionTimeoutMs: 1000 }),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(
      service.endTxn({ transactionalId: "nobody", producerId: 1, producerEpoch: 0, commit: true }),
    ).rejects.toMatchObject({
      code: "INVALID_PRODUCER_ID_MAPPING",
      message: expect.stringMatching(/'nobody' .* unknown or expired/),
    });
    const { producerId, producerEpoch } = await service.initProducerId({
      transactionalId: "t",
      transactionTimeoutMs: 60_000,
    });
    const ref = { transactionalId: "t", producerId, producerEpoch };
    await expect(
      service.addPartitionsToTxn({
        ...ref,
        partitions: [{ topic: "__consumer_offsets", partition: 0 }],
      }),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(
      service.addPartitionsToTxn({ ...ref, partitions: [{ topic: "h", partition: 7 }] }),
    ).rejects.toMatchObject({ code: "UNKNOWN_PARTITION" });

    // A transactional batch for a partition the transaction never added is refused, so
    // it cannot leave a transaction open that nothing would end.
    const batch = () =>
      encodeBatch([value(0)], {
        producerId,
        producerEpoch,
        baseSequence: 0,
        attributes: TRANSACTIONAL_FLAG,
      });
    await expect(service.produce("h", 0, batch())).rejects.toMatchObject({
      code: "INVALID_TXN_STATE",
    });
    // Markers come from the coordinator only.
    await expect(
      service.produce("h", 0, encodeControlBatch(producerId, producerEpoch, "COMMIT", 0, 1)),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: /control batch/ });
    // A transactional batch without a producer id is refused too.
    await expect(
      service.produce("h", 0, encodeBatch([value(0)], { attributes: TRANSACTIONAL_FLAG })),
    ).rejects.toMatchObject({ code: "INVALID_PRODUCER_ID_MAPPING" });

    await service.addPartitionsToTxn({ ...ref, partitions: [{ topic: "h", partition: 0 }] });
    await service.produce("h", 0, batch());
    await service.endTxn({ ...ref, commit: false });
    // After the abort the partition is no longer in a transaction: a send there is refused.
    const late = encodeBatch([value(1)], {
      producerId,
      producerEpoch,
      baseSequence: 1,
      attributes: TRANSACTIONAL_FLAG,
    });
    await expect(service.produce("h", 0, late)).rejects.toMatchObject({
      code: "INVALID_TXN_STATE",
    });
    const d = await service.describeTopic("h");
    expect(d.partitions[0]!.logEndOffset).toBe(2); // the one record and its ABORT marker
    await client.close();
  });

  it("keeps open and aborted transactions across a reopen, and finishes the open one at its timeout", async () => {
    const dir = tempDir();
    let { client } = await open(dir, 0);
    await client.admin.createTopic("r", { partitions: 1 });
    const p = client.transactionalProducer({ transactionalId: "r-1", transactionTimeoutMs: 500 });
    await p.initTransactions();
    await p.beginTransaction();
    await p.send("r", [value(0)]);
    await p.abortTransaction();
    await p.beginTransaction();
    await p.send("r", [value(1)]);
    await p.commitTransaction();
    await p.beginTransaction();
    await p.send("r", [value(2)]); // left open
    await client.close();

    const reopened = await open(dir);
    const service = reopened.service;
    client = reopened.client;
    const read = async (isolation: "read_committed" | "read_uncommitted", want: number) => {
      const c = client.consumer({ isolation });
      c.assign([{ topic: "r", partition: 0 }]);
      c.seek({ topic: "r", partition: 0 }, 0);
      const out: string[] = [];
      const deadline = Date.now() + 60_000;
      while (out.length < want && Date.now() < deadline) {
        for (const fp of await c.poll({ maxWaitMs: 100 })) {
          for (const r of fp.records) out.push(r.value!.toString());
        }
      }
      await c.close();
      return out;
    };
    expect(await read("read_uncommitted", 3)).toEqual(["0", "1", "2"]);
    // Committed "1"; "0" aborted; "2" becomes readable as aborted (skipped) at the timeout.
    expect(await read("read_committed", 1)).toEqual(["1"]);
    const deadline = Date.now() + 60_000;
    while (service.transactionState("r-1")?.status !== "CompleteAbort" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(service.transactionState("r-1")?.status).toBe("CompleteAbort");
    const d = await service.describeTopic("r");
    const end = d.partitions[0]!.logEndOffset;
    expect(end).toBe(6); // 3 records, 3 markers
    const c = client.consumer({ isolation: "read_committed" });
    c.assign([{ topic: "r", partition: 0 }]);
    c.seek({ topic: "r", partition: 0 }, 0);
    while ((c.position({ topic: "r", partition: 0 }) ?? 0) < end && Date.now() < deadline) {
      await c.poll({ maxWaitMs: 100 });
    }
    expect(c.position({ topic: "r", partition: 0 })).toBe(end);
    await c.close();
    await client.close();
  });

  it("completes a commit decided before a crash: the restarted log writes its markers and commits its offsets", async () => {
    const dir = tempDir();
    let { service } = await open(dir, 0);
    await service.createTopic("pc", { partitions: 2 });
    const ids = await service.initProducerId({
      transactionalId: "pc",
      transactionTimeoutMs: 60_000,
    });
    const ref = { transactionalId: "pc", ...ids };
    const partitions = [0, 1].map((partition) => ({ topic: "pc", partition }));
    await service.addPartitionsToTxn({ ...ref, partitions });
    for (const { partition } of partitions) {
      const batch = encodeBatch([value(partition)], {
        ...ids,
        baseSequence: 0,
        attributes: TRANSACTIONAL_FLAG,
      });
      await service.produce("pc", partition, batch);
    }
    await service.txnOffsetCommit({
      ...ref,
      groupId: "pc-group",
      memberId: "",
      generation: -1,
      offsets: [{ topic: "in", partition: 0, offset: 42 }],
    });
    const ongoing = service.transactionState("pc")!;
    expect(ongoing.status).toBe("Ongoing");
    await service.close();

    // What a SIGKILL between journalling the decision and writing the markers leaves: the
    // PrepareCommit record in __transaction_state, no marker in any partition.
    const journal = PartitionLog.open(path.join(dir, `${TRANSACTION_STATE_TOPIC}-0`), {
      topic: TRANSACTION_STATE_TOPIC,
      partition: 0,
      config: resolveTopicConfig({ cleanupPolicy: "compact", flushPolicy: "always" }),
    });
    await journal.append(
      encodeBatch([
        {
          key: encodeTransactionKey("pc"),
          value: encodeTransactionValue({ ...ongoing, status: "PrepareCommit" }),
        },
      ]),
    );
    await journal.close();

    ({ service } = await open(dir, 0));
    expect(service.transactionState("pc")?.status).toBe("CompleteCommit");
    const client = new ServiceLogClient(service);
    const c = client.consumer({ isolation: "read_committed" });
    c.assign(partitions);
    for (const tp of partitions) c.seek(tp, 0);
    const seen: string[] = [];
    const deadline = Date.now() + 60_000;
    while (seen.length < 2 && Date.now() < deadline) {
      for (const fp of await c.poll({ maxWaitMs: 100 })) {
        for (const r of fp.records) seen.push(r.value!.toString());
      }
    }
    expect(seen.sort()).toEqual(["0", "1"]);
    expect(await service.fetchOffsets("pc-group")).toEqual([
      { topic: "in", partition: 0, offset: 42 },
    ]);
    await c.close();
    await client.close();
  });

  it("a read_committed member waits for offsets pending in a transaction, then starts from them (KIP-447)", async () => {
    const { client } = await open();
    await client.admin.createTopic("in", { partitions: 1 });
    await client.producer().send(
      "in",
      Array.from({ length: 10 }, (_, i) => value(i)),
    );
    const first = client.consumer({ groupId: "g", autoOffsetReset: "earliest" });
    await first.subscribe(["in"]);
    const deadline = Date.now() + 60_000;
    while (first.assignment().length === 0 && Date.now() < deadline)
      await first.poll({ maxWaitMs: 100 });
    const p = client.transactionalProducer({ transactionalId: "g-worker" });
    await p.initTransactions();
    await p.beginTransaction();
    await p.sendOffsets([{ topic: "in", partition: 0, offset: 7 }], first.groupMetadata());
    await first.close(); // its partition moves while the transaction is still open

    const next = client.consumer({
      groupId: "g",
      autoOffsetReset: "earliest",
      isolation: "read_committed",
    });
    await next.subscribe(["in"]);
    const polls: string[][] = [];
    const values = (fps: Awaited<ReturnType<typeof next.poll>>) =>
      fps.flatMap((fp) => fp.records.map((r) => r.value!.toString()));
    while (next.assignment().length === 0 && Date.now() < deadline) {
      polls.push(values(await next.poll({ maxWaitMs: 100 })));
    }
    expect(next.assignment()).toEqual([{ topic: "in", partition: 0 }]);
    for (let i = 0; i < 5; i++) {
      polls.push(
        (await next.poll({ maxWaitMs: 100 })).flatMap((fp) =>
          fp.records.map((r) => r.value!.toString()),
        ),
      );
    }
    // Nothing read while the commit is pending: reading from the old commit (none, so
    // earliest) would repeat the records the transaction is about to mark done.
    expect(polls.flat()).toEqual([]);
    await p.commitTransaction();
    const seen: string[] = [];
    while (seen.length < 3 && Date.now() < deadline) {
      for (const fp of await next.poll({ maxWaitMs: 100 })) {
        for (const r of fp.records) seen.push(r.value!.toString());
      }
    }
    expect(seen).toEqual(["7", "8", "9"]);
    await next.close();
    await p.close();
    await client.close();
  });
});
