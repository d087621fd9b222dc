import { Connection, describeProducersV0 } from "@platformatic/kafka";
import type { TransactionalProducer } from "@tributary/log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaLog } from "../src/kafka-log.js";
import { kafkaBrokers, suiteLog } from "./kafka-helpers.js";

kafkaBrokers();

/** Records bigger than the topic's max.message.bytes: Kafka refuses their batch for good. */
const MAX_MESSAGE_BYTES = 1024;

const rec = (v: string, bytes = 0) => ({
  key: Buffer.from(v),
  value: Buffer.concat([Buffer.from(v), Buffer.alloc(bytes)]),
  partition: 0,
});

/**
 * The producer state Kafka itself keeps for partition 0 of `topic` (DescribeProducers,
 * KIP-664): the epoch of the producer's last batch and that batch's last sequence number,
 * read from the partition leader rather than from the client under test.
 */
async function producerState(
  namespace: string,
  topic: string,
): Promise<{ producerEpoch: number; lastSequence: number }[]> {
  const [host, port] = kafkaBrokers().split(",")[0]!.split(":");
  const connection = new Connection("tributary-test");
  try {
    await connection.connect(host!, Number(port));
    const response = await describeProducersV0.api.async(connection, [
      { name: `${namespace}.${topic}`, partitionIndexes: [0] },
    ]);
    const partition = response.topics[0]!.partitions[0]!;
    expect(partition.errorCode).toBe(0);
    return partition.activeProducers.map((p) => ({
      producerEpoch: p.producerEpoch,
      lastSequence: p.lastSequence,
    }));
  } finally {
    await connection.close();
  }
}

async function readCommitted(log: KafkaLog, topic: string, count: number): Promise<string[]> {
  const c = log.consumer({ isolation: "read_committed" });
  c.assign([{ topic, partition: 0 }]);
  c.seek({ topic, partition: 0 }, 0);
  const values: string[] = [];
  const read = async (until: number, ms: number) => {
    const deadline = Date.now() + ms;
    while (values.length < until && Date.now() < deadline) {
      for (const fp of await c.poll({ maxWaitMs: 200 }))
        for (const r of fp.records) values.push(r.key!.toString());
    }
  };
  await read(count, 60_000);
  // A little longer, so that an aborted record handed on would be seen too.
  await read(Number.MAX_SAFE_INTEGER, 1_000);
  await c.close();
  return values;
}

describe("a Kafka transaction whose send failed", () => {
  const suite = suiteLog("txnfail");
  let p: TransactionalProducer;
  beforeAll(async () => {
    await suite.log.admin.createTopic("out", {
      partitions: 1,
      config: { maxMessageBytes: MAX_MESSAGE_BYTES },
    });
    p = suite.log.transactionalProducer({ transactionalId: "failed-send" });
    await p.initTransactions();
  });
  afterAll(async () => {
    await p?.close();
  });

  it("cannot commit; once aborted, the producer's epoch is bumped and its next transaction starts at sequence 0 and commits", async () => {
    await p.beginTransaction();
    await p.send("out", [rec("a0"), rec("a1")]);
    const [before] = await producerState(suite.namespace, "out");
    expect(before?.lastSequence).toBe(1);

    await expect(p.send("out", [rec("too-large", 4 * MAX_MESSAGE_BYTES)])).rejects.toThrow();
    // Committing now would publish the transaction without the failed send's records.
    await expect(p.commitTransaction()).rejects.toMatchObject({ code: "INVALID_TXN_STATE" });
    await p.abortTransaction();

    await p.beginTransaction();
    await p.send("out", [rec("c0"), rec("c1"), rec("c2")]);
    await p.commitTransaction();
    // Kafka saw the next epoch, and sequences restarted at 0 (three records: last is 2);
    // under the old epoch the batch would have carried sequences 2..4.
    expect(await producerState(suite.namespace, "out")).toEqual([
      { producerEpoch: before!.producerEpoch + 1, lastSequence: 2 },
    ]);
    expect(await readCommitted(suite.log, "out", 3)).toEqual(["c0", "c1", "c2"]);
  });

  it("keeps working across further aborted and committed transactions with the bumped epoch", async () => {
    const [start] = await producerState(suite.namespace, "out");
    await p.beginTransaction();
    await p.send("out", [rec("d0")]);
    await p.abortTransaction(); // no failed send: no bump needed, none made
    await p.beginTransaction();
    await p.send("out", [rec("e0"), rec("e1")]);
    await p.commitTransaction();
    expect(await producerState(suite.namespace, "out")).toEqual([
      { producerEpoch: start!.producerEpoch, lastSequence: start!.lastSequence + 3 },
    ]);
    expect(await readCommitted(suite.log, "out", 5)).toEqual(["c0", "c1", "c2", "e0", "e1"]);
  });
});
