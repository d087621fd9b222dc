import { Producer as KafkaClientProducer } from "@platformatic/kafka";
import type { Consumer } from "@tributary/log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaLog } from "../src/kafka-log.js";
import { cli } from "../../cli/test/helpers.js";
import { dropNamespace, kafkaBrokers, openTestLog, uniqueNamespace } from "./kafka-helpers.js";

kafkaBrokers();

/**
 * Transactions written by Kafka's own transactional producer (the Kafka client's, as a
 * Java app's would be): Tributary's consumer must read them as Kafka's does at each
 * isolation level.
 */
describe("a Kafka consumer's isolation level", () => {
  const namespace = uniqueNamespace("iso");
  let log: KafkaLog;
  let txn: KafkaClientProducer;
  beforeAll(async () => {
    log = await openTestLog(namespace);
    await log.admin.createTopic("orders", { partitions: 1 });
    txn = new KafkaClientProducer({
      clientId: "iso-txn",
      bootstrapBrokers: [kafkaBrokers()],
      idempotent: true,
      transactionalId: `${namespace}-txn`,
      acks: -1,
    });
  });
  afterAll(async () => {
    await txn?.close();
    await log.close();
    await dropNamespace(namespace);
  });

  const wire = () => `${namespace}.orders`;
  const write = async (values: string[], commit: boolean) => {
    const t = await txn.beginTransaction();
    for (const v of values) {
      await t.send({
        messages: [{ topic: wire(), partition: 0, key: Buffer.from(v), value: Buffer.from(v) }],
      });
    }
    if (commit) await t.commit();
    else await t.abort();
  };

  async function readAll(c: Consumer, until: (values: string[]) => boolean): Promise<string[]> {
    c.assign([{ topic: "orders", partition: 0 }]);
    c.seek({ topic: "orders", partition: 0 }, 0);
    const values: string[] = [];
    const deadline = Date.now() + 60_000;
    while (!until(values) && Date.now() < deadline) {
      for (const fp of await c.poll({ maxWaitMs: 200 }))
        for (const r of fp.records) values.push(r.value!.toString());
    }
    return values;
  }

  it("read_committed skips aborted transactions and stops at an open one; read_uncommitted reads everything", async () => {
    await write(["c1", "c2"], true);
    await write(["a1", "a2", "a3"], false);
    await log
      .producer()
      .send("orders", [{ key: Buffer.from("plain"), value: Buffer.from("plain"), partition: 0 }]);
    await write(["c3"], true);

    const committed = log.consumer({ isolation: "read_committed" });
    expect(await readAll(committed, (v) => v.includes("c3"))).toEqual(["c1", "c2", "plain", "c3"]);

    // An open transaction: its records are not returned until it commits.
    const open = await txn.beginTransaction();
    await open.send({
      messages: [{ topic: wire(), partition: 0, key: Buffer.from("o1"), value: Buffer.from("o1") }],
    });
    await log
      .producer()
      .send("orders", [{ key: Buffer.from("after"), value: Buffer.from("after"), partition: 0 }]);
    const polled: string[] = [];
    for (let i = 0; i < 5; i++) {
      for (const fp of await committed.poll({ maxWaitMs: 200 }))
        for (const r of fp.records) polled.push(r.value!.toString());
    }
    expect(polled).toEqual([]);
    await open.commit();
    const afterCommit: string[] = [];
    const deadline = Date.now() + 60_000;
    while (afterCommit.length < 2 && Date.now() < deadline) {
      for (const fp of await committed.poll({ maxWaitMs: 200 }))
        for (const r of fp.records) afterCommit.push(r.value!.toString());
    }
    expect(afterCommit).toEqual(["o1", "after"]);
    await committed.close();

    const uncommitted = log.consumer({ isolation: "read_uncommitted" });
    expect(await readAll(uncommitted, (v) => v.includes("after"))).toEqual([
      "c1",
      "c2",
      "a1",
      "a2",
      "a3",
      "plain",
      "c3",
      "o1",
      "after",
    ]);
    await uncommitted.close();

    // The command takes the same choice.
    const consume = (isolation: string) =>
      cli(["consume", wire(), "--isolation", isolation, "--kafka", kafkaBrokers()])
        .split("\n")
        .filter(Boolean);
    expect(consume("read_committed")).toEqual(["c1", "c2", "plain", "c3", "o1", "after"]);
    expect(consume("read_uncommitted")).toHaveLength(9);
  });

  it("refuses an unknown isolation level, naming the allowed ones", () => {
    expect(() => log.consumer({ isolation: "serializable" as never })).toThrow(
      /isolation 'serializable': expected read_committed or read_uncommitted/,
    );
  });
});
