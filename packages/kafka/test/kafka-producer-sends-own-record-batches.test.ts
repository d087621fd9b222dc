import type { RecordsBatch } from "@platformatic/kafka";
import { encodeBatch } from "@tributary/log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaCluster, type TopicInfo } from "../src/kafka-cluster.js";
import { produceBatches } from "../src/produce-request.js";
import { kafkaBrokers, suiteLog } from "./kafka-helpers.js";

kafkaBrokers();

/**
 * The producers encode Kafka's record batches themselves (@tributary/log's codec) and send
 * them in Produce requests of their own. What Kafka stored is read back here through the
 * Kafka client's Fetch and its own batch decoder, not Tributary's.
 */
describe("Kafka producers sending record batches Tributary encodes", () => {
  const suite = suiteLog("ownbatch");
  let cluster: KafkaCluster;
  beforeAll(() => {
    cluster = new KafkaCluster({
      brokers: kafkaBrokers(),
      namespace: suite.namespace,
      clientId: "ownbatch-test",
    });
  });
  afterAll(() => cluster.close());

  /** Every batch of partition 0 of `topic` as Kafka's client decodes it (read_uncommitted). */
  async function batchesOf(topic: string, expectedRecords: number): Promise<RecordsBatch[]> {
    const info = await cluster.topic(topic, true);
    const fetch = await cluster.api<{
      responses: { partitions: { errorCode: number; records?: RecordsBatch[] }[] }[];
    }>("Fetch");
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await fetch(
        await cluster.node(info.leaders[0]!),
        500,
        1,
        10 << 20,
        0,
        0,
        -1,
        [
          {
            topicId: info.id,
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset: 0n,
                lastFetchedEpoch: -1,
                partitionMaxBytes: 10 << 20,
              },
            ],
          },
        ],
        [],
        "",
      );
      const batches = r.responses[0]?.partitions[0]?.records ?? [];
      const n = batches.reduce((s, b) => s + b.records.length, 0);
      if (n >= expectedRecords) return batches;
      if (Date.now() > deadline) throw new Error(`fetched ${n} of ${expectedRecords} records`);
    }
  }

  it("an idempotent producer's sends are batches with its producer id, consecutive sequences and the records intact", async () => {
    await suite.log.admin.createTopic("plain", { partitions: 1 });
    const sizes = [3, 5, 2];
    const sent = sizes.map((n, s) =>
      Array.from({ length: n }, (_, i) => ({
        key: i === 0 ? null : Buffer.from(`k${s}-${i}`),
        value: i === 1 ? null : Buffer.from(`v${s}-${i}`),
        timestamp: 1_700_000_000_000 + s * 1000 + i,
        headers: i === 2 ? { trace: `t${s}`, raw: Buffer.from([0, 1, 2]) } : undefined,
        partition: 0,
      })),
    );
    const producer = suite.log.producer();
    const acks = [];
    for (const records of sent) acks.push(...(await producer.send("plain", records)));
    await producer.close();
    expect(acks.map((a) => [a.baseOffset, a.lastOffset])).toEqual([
      [0, 2],
      [3, 7],
      [8, 9],
    ]);

    const batches = await batchesOf("plain", 10);
    expect(batches).toHaveLength(3);
    const producerId = batches[0]!.producerId;
    expect(producerId).toBeGreaterThanOrEqual(0n);
    expect(batches.map((b) => [b.producerId, b.firstSequence, b.attributes])).toEqual([
      [producerId, 0, 0],
      [producerId, 3, 0],
      [producerId, 8, 0],
    ]);
    const read = batches.flatMap((b) =>
      b.records.map((r) => ({
        key: r.key?.toString() ?? null,
        value: r.value?.toString() ?? null,
        timestamp: Number(b.firstTimestamp + r.timestampDelta),
        headers: r.headers.map(([k, v]) => `${k}=${v?.toString("hex")}`),
      })),
    );
    expect(read).toEqual(
      sent.flat().map((r) => ({
        key: r.key?.toString() ?? null,
        value: r.value?.toString() ?? null,
        timestamp: r.timestamp,
        headers:
          r.headers === undefined
            ? []
            : [`trace=${Buffer.from(r.headers.trace).toString("hex")}`, "raw=000102"],
      })),
    );
  });

  it("a batch sent again with the same producer id and sequence (a retry after a lost answer) is stored once", async () => {
    await suite.log.admin.createTopic("retried", { partitions: 1 });
    const info: TopicInfo = await cluster.topic("retried", true);
    const init = await cluster.api<{ producerId: bigint; producerEpoch: number }>("InitProducerId");
    const id = await init(await cluster.anyNode(), null, 30_000, -1n, -1);
    const version = await cluster.apiVersion("Produce");
    const batch = (first: number, n: number) =>
      encodeBatch(
        Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`r${first + i}`) })),
        {
          producerId: Number(id.producerId),
          producerEpoch: id.producerEpoch,
          baseSequence: first,
        },
      );
    const send = async (bytes: Buffer) => {
      const r = await produceBatches(await cluster.node(info.leaders[0]!), version, null, 30_000, [
        { name: info.wireName, batches: [{ partition: 0, batch: bytes }] },
      ]);
      return r.responses[0]!.partitionResponses[0]!;
    };
    const first = batch(0, 3);
    const a = await send(first);
    const again = await send(first);
    const next = await send(batch(3, 2));
    expect([a.errorCode, again.errorCode, next.errorCode]).toEqual([0, 0, 0]);
    expect([a.baseOffset, again.baseOffset, next.baseOffset]).toEqual([0n, 0n, 3n]);
    const values = (await batchesOf("retried", 5)).flatMap((b) =>
      b.records.map((r) => r.value!.toString()),
    );
    expect(values).toEqual(["r0", "r1", "r2", "r3", "r4"]);

    // A gap in the sequence is refused, not written: the sender's signal to start over.
    const gap = await send(batch(9, 1));
    expect(gap.errorCode).toBe(45); // OUT_OF_ORDER_SEQUENCE_NUMBER
  });

  it("a transactional producer's batches carry the transactional bit and its producer id; a commit makes them readable", async () => {
    await suite.log.admin.createTopic("txn", { partitions: 1 });
    const producer = suite.log.transactionalProducer({ transactionalId: "ownbatch-txn" });
    await producer.initTransactions();
    await producer.beginTransaction();
    await producer.send("txn", [
      { key: Buffer.from("a"), value: Buffer.from("1"), partition: 0 },
      { key: Buffer.from("b"), value: Buffer.from("2"), partition: 0 },
    ]);
    await producer.send("txn", [{ key: Buffer.from("c"), value: Buffer.from("3"), partition: 0 }]);
    await producer.commitTransaction();
    await producer.close();

    // 3 records and the COMMIT marker.
    const batches = await batchesOf("txn", 4);
    const data = batches.filter((b) => (b.attributes & 0x20) === 0);
    const markers = batches.filter((b) => (b.attributes & 0x20) !== 0);
    expect(data.map((b) => [b.attributes & 0x10, b.firstSequence, b.records.length])).toEqual([
      [0x10, 0, 2],
      [0x10, 2, 1],
    ]);
    expect(markers).toHaveLength(1);
    expect(markers[0]!.producerId).toBe(data[0]!.producerId);
    // Control record key: version:int16 type:int16, 1 = COMMIT.
    expect(markers[0]!.records[0]!.key!.readInt16BE(2)).toBe(1);

    const c = suite.consumer({ isolation: "read_committed" });
    c.assign([{ topic: "txn", partition: 0 }]);
    c.seek({ topic: "txn", partition: 0 }, 0);
    const values: string[] = [];
    for (const deadline = Date.now() + 60_000; values.length < 3 && Date.now() < deadline; ) {
      for (const fp of await c.poll({ maxWaitMs: 200 }))
        for (const r of fp.records) values.push(r.value!.toString());
    }
    expect(values).toEqual(["1", "2", "3"]);
  });
});
