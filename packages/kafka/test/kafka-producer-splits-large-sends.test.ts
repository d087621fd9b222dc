import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaLog } from "../src/kafka-log.js";
import { dropNamespace, kafkaBrokers, openTestLog, uniqueNamespace } from "./kafka-helpers.js";

kafkaBrokers();

describe("a Kafka producer's send larger than Kafka's batch limit", () => {
  const namespace = uniqueNamespace("big");
  let log: KafkaLog;
  beforeAll(async () => {
    log = await openTestLog(namespace);
  });
  afterAll(async () => {
    await log.close();
    await dropNamespace(namespace);
  });

  it("goes through as several batches (3 MB to one partition, over max.message.bytes), offsets gapless and in order", async () => {
    await log.admin.createTopic("big", { partitions: 1 });
    const n = 30_000;
    const value = Buffer.alloc(90, 0x61);
    const records = Array.from({ length: n }, (_, i) => ({
      key: Buffer.from(`k${String(i).padStart(8, "0")}`),
      value,
      partition: 0,
    }));
    const producer = log.producer();
    const [result] = await producer.send("big", records);
    await producer.close();
    expect(result).toMatchObject({ partition: 0, baseOffset: 0, lastOffset: n - 1 });

    const c = log.consumer();
    c.assign([{ topic: "big", partition: 0 }]);
    c.seek({ topic: "big", partition: 0 }, 0);
    const keys: string[] = [];
    while (keys.length < n) {
      for (const fp of await c.poll({ maxWaitMs: 200 }))
        for (const r of fp.records) keys.push(r.key!.toString());
    }
    await c.close();
    expect(keys).toEqual(records.map((r) => r.key.toString()));
  });
});
