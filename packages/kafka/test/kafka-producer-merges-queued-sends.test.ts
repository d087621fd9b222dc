import type { ProduceResult, ProducerRecord } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { KafkaProducer } from "../src/kafka-producer.js";
import { kafkaBrokers, suiteLog } from "./kafka-helpers.js";

kafkaBrokers();

const TOPICS = { a: 3, b: 2 } as const;
type Topic = keyof typeof TOPICS;

/** Send `s` to topic a or b: 20 records, record i to partition (s + i) mod the count. */
function sendOf(s: number): { topic: Topic; records: ProducerRecord[] } {
  const topic: Topic = s % 3 === 0 ? "b" : "a";
  const records = Array.from({ length: 20 }, (_, i) => ({
    key: Buffer.from(`k${i}`),
    value: Buffer.from(`s${s}-r${i}`),
    partition: (s + i) % TOPICS[topic],
  }));
  return { topic, records };
}

/**
 * While a Produce request is in flight, the idempotent Kafka producer accumulates the
 * sends made meanwhile and sends them together (Kafka's RecordAccumulator): fewer requests
 * than sends, and still every record once, in call order per partition, each send's acks
 * naming its own records' offsets.
 */
describe("a Kafka producer's sends queued while a request is in flight", () => {
  const suite = suiteLog("merge");

  it("go out merged, each record once, in call order per partition, acks naming each send's own offsets", async () => {
    for (const [t, partitions] of Object.entries(TOPICS)) {
      await suite.log.admin.createTopic(t, { partitions });
    }
    const producer = suite.log.producer();
    expect(producer).toBeInstanceOf(KafkaProducer);
    const sends: { topic: Topic; records: ProducerRecord[]; ack: Promise<ProduceResult[]> }[] = [];
    const send = (s: number) => {
      const { topic, records } = sendOf(s);
      sends.push({ topic, records, ack: producer.send(topic, records) });
    };
    // A bad send among them fails alone: its partition does not exist.
    const bad = producer.send("a", [{ key: null, value: Buffer.from("x"), partition: 9 }]).then(
      () => null,
      (err: unknown) => err,
    );
    send(0);
    let firstDone = false;
    void sends[0]!.ack.finally(() => {
      firstDone = true;
    });
    // More sends, one per turn of the event loop, while the first is in flight; then more
    // until 300, which pile up behind whatever round is in flight.
    for (let s = 1; s < 300; s++) {
      send(s);
      if (!firstDone) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await bad).toMatchObject({ code: "UNKNOWN_PARTITION" });
    const acks = await Promise.all(sends.map((s) => s.ack));
    const requests = (producer as KafkaProducer).requests;
    await producer.close();
    expect(requests).toBeGreaterThan(0);
    expect(requests).toBeLessThan(sends.length / 2);

    // What each partition should hold: every send's records for it, in call order.
    const expected = new Map<string, string[]>();
    for (const { topic, records } of sends) {
      for (const r of records) {
        const key = `${topic}-${r.partition}`;
        expected.set(key, [...(expected.get(key) ?? []), r.value!.toString()]);
      }
    }
    const read = new Map<string, string[]>();
    const consumer = suite.consumer({ autoOffsetReset: "earliest" });
    const tps = Object.entries(TOPICS).flatMap(([topic, n]) =>
      Array.from({ length: n }, (_, partition) => ({ topic, partition })),
    );
    consumer.assign(tps);
    for (const tp of tps) consumer.seek(tp, 0);
    const total = sends.length * 20;
    let got = 0;
    const deadline = Date.now() + 120_000;
    while (got < total && Date.now() < deadline) {
      for (const f of await consumer.poll({ maxWaitMs: 500 })) {
        const key = `${f.topic}-${f.partition}`;
        const values = read.get(key) ?? [];
        for (const r of f.records) {
          expect(r.offset).toBe(values.length); // from offset 0, gapless
          values.push(r.value!.toString());
          got++;
        }
        read.set(key, values);
      }
    }
    for (const [key, values] of expected) expect(read.get(key), key).toEqual(values);
    expect(got).toBe(total);

    // Each send's ack: per partition, the offsets of its first and last record there.
    sends.forEach(({ topic, records }, i) => {
      const ack = acks[i]!;
      const partitions = [...new Set(records.map((r) => r.partition!))].sort((x, y) => x - y);
      expect(ack.map((a) => a.partition)).toEqual(partitions);
      for (const a of ack) {
        const mine = records
          .filter((r) => r.partition === a.partition)
          .map((r) => r.value!.toString());
        const stored = read.get(`${topic}-${a.partition}`)!;
        expect(stored.slice(a.baseOffset, a.lastOffset + 1)).toEqual(mine);
      }
    });
  });
});
