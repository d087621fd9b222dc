import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Producer as KafkaClientProducer } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  countingBatchReaders,
  restoreContents,
  type ScenarioState,
  withoutBatchReader,
  writeMixedChangelog,
} from "../../state/test/restore-scenario.js";
import { kafkaBrokers, suiteLog } from "./kafka-helpers.js";

kafkaBrokers();

/**
 * A store's restore from a changelog on Kafka reads the fetched batches undecoded
 * (KafkaLog.batchReader): with Kafka's own transaction markers and aborted transactions,
 * and with batches another producer compressed, it must restore what the consumer's read
 * restores, no aborted record in the store.
 */
describe("restore from fetched batches on Kafka", () => {
  const suite = suiteLog("rawrestore");
  let dir: string;
  let expected: ScenarioState;
  let end: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-kafka-raw-restore-"));
    await suite.log.admin.createTopic("changelog", { partitions: 1 });
    expected = await writeMixedChangelog(suite.log, "changelog", `${suite.namespace}-txn`);
    // Batches gzip-compressed by another producer, which only the Kafka client decodes.
    const gzip = new KafkaClientProducer({
      clientId: "gzip-writer",
      bootstrapBrokers: [kafkaBrokers()],
      compression: "gzip",
      acks: -1,
    });
    try {
      for (let b = 0; b < 3; b++) {
        const keys = Array.from({ length: 5 }, (_, i) => `gz${b * 5 + i}`);
        await gzip.send({
          messages: keys.map((k) => ({
            topic: `${suite.namespace}.changelog`,
            partition: 0,
            key: Buffer.from(k),
            value: Buffer.from(`zipped-${k}`),
          })),
        });
        for (const k of keys) {
          expected.committed.set(k, `zipped-${k}`);
          expected.uncommitted.set(k, `zipped-${k}`);
        }
      }
    } finally {
      await gzip.close();
    }
    end = (await suite.log.admin.listOffsets("changelog", "latest"))[0]!.offset;
  }, 120_000);
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Restores a fresh store from the whole changelog at this isolation level, through one batch reader. */
  const restoreAll = async (isolation: "read_committed" | "read_uncommitted") => {
    const counting = countingBatchReaders(suite.log);
    const restored = await restoreContents(
      counting.client,
      "changelog",
      path.join(dir, isolation),
      isolation,
    );
    expect(counting.opened()).toBe(1);
    expect(restored.offset).toBe(end);
    return restored.contents;
  };

  it("restores committed data only under read_committed, compressed batches included", async () => {
    const contents = await restoreAll("read_committed");
    expect(contents).toEqual(expected.committed);
    expect([...contents.values()]).not.toContain("ABORTED");
  }, 120_000);

  it("restores aborted records too under read_uncommitted, as Kafka's consumer reads them", async () => {
    expect(await restoreAll("read_uncommitted")).toEqual(expected.uncommitted);
  }, 120_000);

  it("restores the same contents and count as the consumer's read", async () => {
    const batches = await restoreContents(
      suite.log,
      "changelog",
      path.join(dir, "batches"),
      "read_committed",
    );
    const polled = await restoreContents(
      withoutBatchReader(suite.log),
      "changelog",
      path.join(dir, "polled"),
      "read_committed",
    );
    expect(batches.contents).toEqual(polled.contents);
    expect(batches.records).toBe(polled.records);
    expect(batches.offset).toBe(polled.offset);
  }, 120_000);
});
