import { Producer as KafkaClientProducer } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { kafkaBrokers, suiteLog } from "./kafka-helpers.js";

kafkaBrokers();

/**
 * Tributary decodes fetched batches with its own codec, which writes no compression; a
 * topic written by another producer with compression on (as Java producers often are) must
 * still read, records and positions as Kafka stored them.
 */
describe("a Kafka consumer reading batches another producer compressed", () => {
  const suite = suiteLog("gzip");

  it("reads gzip batches interleaved with Tributary's own, in order, keys, values and headers intact", async () => {
    await suite.log.admin.createTopic("mixed", { partitions: 1 });
    const gzip = new KafkaClientProducer({
      clientId: "gzip-writer",
      bootstrapBrokers: [kafkaBrokers()],
      compression: "gzip",
      acks: -1,
    });
    const producer = suite.log.producer();
    const expected: string[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        const zipped = Array.from({ length: 4 }, (_, i) => `z${round}-${i}`);
        await gzip.send({
          messages: zipped.map((v) => ({
            topic: `${suite.namespace}.mixed`,
            partition: 0,
            key: Buffer.from(`k-${v}`),
            value: Buffer.from(v),
            headers: new Map([[Buffer.from("h"), Buffer.from(`h-${v}`)]]),
          })),
        });
        const plain = Array.from({ length: 3 }, (_, i) => `p${round}-${i}`);
        await producer.send(
          "mixed",
          plain.map((v) => ({
            key: Buffer.from(`k-${v}`),
            value: Buffer.from(v),
            headers: { h: `h-${v}` },
            partition: 0,
          })),
        );
        expected.push(...zipped, ...plain);
      }
    } finally {
      await gzip.close();
      await producer.close();
    }

    const c = suite.consumer({});
    c.assign([{ topic: "mixed", partition: 0 }]);
    // From the middle of a compressed batch: the records before the position are not returned.
    c.seek({ topic: "mixed", partition: 0 }, 2);
    const seen: { offset: number; key: string; value: string; h: string }[] = [];
    for (const deadline = Date.now() + 60_000; seen.length < expected.length - 2; ) {
      for (const fp of await c.poll({ maxWaitMs: 200 }))
        for (const r of fp.records)
          seen.push({
            offset: r.offset,
            key: r.key!.toString(),
            value: r.value!.toString(),
            h: r.headers.h!.toString(),
          });
      if (Date.now() > deadline) throw new Error(`read ${seen.length} of ${expected.length - 2}`);
    }
    expect(seen).toEqual(
      expected.map((v, offset) => ({ offset, key: `k-${v}`, value: v, h: `h-${v}` })).slice(2),
    );
  });
});
