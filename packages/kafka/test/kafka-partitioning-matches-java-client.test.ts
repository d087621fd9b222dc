import { Consumer as KafkaConsumer, MessagesStreamModes } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaLog } from "../src/kafka-log.js";
import { dropNamespace, kafkaBrokers, openTestLog, uniqueNamespace } from "./kafka-helpers.js";

// Keys and the partitions Kafka's Java producer picks for them, computed with Apache
// Kafka's own code (kafka-clients 3.7.0 from Maven Central, Utils.toPositive(Utils.murmur2(
// key.getBytes(UTF_8))) % n on a JVM): the same table packages/log/test/partitioner.test.ts
// proves the embedded partitioner against. [key, partition of 3, partition of 12]
const JAVA_PARTITIONS: [string, number, number][] = [
  ["", 0, 9],
  ["a", 1, 4],
  ["ab", 2, 2],
  ["abc", 0, 3],
  ["abcd", 2, 8],
  ["abcde", 1, 1],
  ["key", 1, 1],
  ["test", 2, 11],
  ["user-42", 1, 4],
  ["order:1001", 1, 10],
  ["hello world", 1, 7],
  ["\u00e9t\u00e9-\u65e5\u672c", 1, 7],
  ["The quick brown fox jumps over the lazy dog", 0, 6],
];

describe("records written by Tributary land where Kafka's Java client puts them, as plain records", () => {
  const namespace = uniqueNamespace("part");
  let log: KafkaLog;

  beforeAll(async () => {
    log = await openTestLog(namespace);
  });
  afterAll(async () => {
    await log.close();
    await dropNamespace(namespace);
  });

  for (const [partitions, column] of [
    [3, 1],
    [12, 2],
  ] as const) {
    it(`on a topic of ${partitions} partitions`, async () => {
      const topic = `keys${partitions}`;
      await log.admin.createTopic(topic, { partitions });
      const results = await log.producer().send(
        topic,
        JAVA_PARTITIONS.map(([key]) => ({
          key: Buffer.from(key, "utf8"),
          value: Buffer.from(`value of ${key}`, "utf8"),
          timestamp: 1_700_000_000_000,
          headers: { origin: "tributary" },
        })),
      );
      expect(results.reduce((n, r) => n + r.lastOffset - r.baseOffset + 1, 0)).toBe(
        JAVA_PARTITIONS.length,
      );

      // A plain Kafka consumer (the Kafka client's own API, no Tributary code) reads the
      // topic by its name on the cluster.
      const plain = new KafkaConsumer({
        clientId: "plain-reader",
        groupId: `${namespace}.plain-${partitions}`,
        bootstrapBrokers: kafkaBrokers().split(","),
      });
      const seen = new Map<
        string,
        { partition: number; value: string; ts: bigint; origin: string }
      >();
      try {
        const stream = await plain.consume({
          topics: [`${namespace}.${topic}`],
          mode: MessagesStreamModes.EARLIEST,
          autocommit: false,
          maxWaitTime: 200,
        });
        const deadline = Date.now() + 60_000;
        for await (const m of stream) {
          seen.set(m.key.toString("utf8"), {
            partition: m.partition,
            value: m.value.toString("utf8"),
            ts: m.timestamp,
            // Header keys are Buffers: look the key up by its bytes.
            origin: [...m.headers].find(([k]) => k.toString() === "origin")?.[1].toString() ?? "",
          });
          if (seen.size === JAVA_PARTITIONS.length || Date.now() > deadline) break;
        }
        await stream.close();
      } finally {
        await plain.close(true);
      }
      expect(seen.size).toBe(JAVA_PARTITIONS.length);
      for (const row of JAVA_PARTITIONS) {
        const [key] = row;
        const got = seen.get(key)!;
        expect(got.partition, `partition of '${key}'`).toBe(row[column]);
        expect(got.value).toBe(`value of ${key}`);
        expect(got.ts).toBe(1_700_000_000_000n);
        expect(got.origin).toBe("tributary");
      }
    });
  }
});
