import type { Consumer, LogRecord } from "@tributary/log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaLog } from "../src/kafka-log.js";
import { dropNamespace, kafkaBrokers, openTestLog, uniqueNamespace } from "./kafka-helpers.js";

kafkaBrokers();

async function readCommitted(log: KafkaLog, topic: string, until: number): Promise<string[]> {
  const c: Consumer = log.consumer({ isolation: "read_committed" });
  c.assign([{ topic, partition: 0 }]);
  c.seek({ topic, partition: 0 }, 0);
  const values: string[] = [];
  const deadline = Date.now() + 60_000;
  while (values.length < until && Date.now() < deadline) {
    for (const fp of await c.poll({ maxWaitMs: 200 }))
      for (const r of fp.records as LogRecord[]) values.push(r.value!.toString());
  }
  await c.close();
  return values;
}

const rec = (v: string) => ({ key: Buffer.from(v), value: Buffer.from(v), partition: 0 });

describe("Kafka transactions through LogClient's transactional producer", () => {
  const namespace = uniqueNamespace("txn");
  let log: KafkaLog;
  beforeAll(async () => {
    log = await openTestLog(namespace);
    await log.admin.createTopic("in", { partitions: 1 });
    await log.admin.createTopic("out", { partitions: 1 });
    await log.producer().send(
      "in",
      Array.from({ length: 20 }, (_, i) => rec(`in${i}`)),
    );
  });
  afterAll(async () => {
    await log.close();
    await dropNamespace(namespace);
  });

  it("commits records and the group's offsets together, and an abort leaves neither", async () => {
    // A consume-transform-produce step, as a streams task does it.
    const consumer = log.consumer({ groupId: "txn-app", autoOffsetReset: "earliest" });
    await consumer.subscribe(["in"]);
    while (consumer.assignment().length === 0) await consumer.poll({ maxWaitMs: 200 });
    const p = log.transactionalProducer({ transactionalId: "txn-app-0_0" });
    await p.initTransactions();

    await p.beginTransaction();
    await p.send("out", [rec("c1"), rec("c2")]);
    await p.sendOffsets([{ topic: "in", partition: 0, offset: 5 }], consumer.groupMetadata());
    await p.commitTransaction();

    await p.beginTransaction();
    await p.send("out", [rec("a1")]);
    await p.sendOffsets([{ topic: "in", partition: 0, offset: 10 }], consumer.groupMetadata());
    await p.abortTransaction();

    await p.beginTransaction();
    await p.send("out", [rec("c3")]);
    await p.commitTransaction();

    expect(await readCommitted(log, "out", 3)).toEqual(["c1", "c2", "c3"]);
    const committed = await log.admin.fetchCommittedOffsets("txn-app");
    expect(committed).toEqual([expect.objectContaining({ topic: "in", partition: 0, offset: 5 })]);
    await p.close();
    await consumer.close();
  });

  it("fences a zombie: after a new instance initializes, the old one's commit fails and its records never show", async () => {
    const zombie = log.transactionalProducer({ transactionalId: "fenced-task" });
    await zombie.initTransactions();
    await zombie.beginTransaction();
    await zombie.send("out", [rec("zombie")]);

    const successor = log.transactionalProducer({ transactionalId: "fenced-task" });
    await successor.initTransactions();
    await expect(zombie.commitTransaction()).rejects.toMatchObject({ code: "PRODUCER_FENCED" });

    await successor.beginTransaction();
    await successor.send("out", [rec("successor")]);
    await successor.commitTransaction();
    const values = await readCommitted(log, "out", 4);
    expect(values).toContain("successor");
    expect(values).not.toContain("zombie");
    await successor.close();
    await zombie.close();
  });

  it("refuses calls out of order with INVALID_TXN_STATE, naming what to call first", async () => {
    const p = log.transactionalProducer({ transactionalId: "ordering" });
    await expect(p.beginTransaction()).rejects.toThrow(/call initTransactions\(\) first/);
    await p.initTransactions();
    await expect(p.send("out", [rec("x")])).rejects.toMatchObject({
      code: "INVALID_TXN_STATE",
      message: expect.stringMatching(/beginTransaction\(\) first/),
    });
    await p.close();
  });
});
