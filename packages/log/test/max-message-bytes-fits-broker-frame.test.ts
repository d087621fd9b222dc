import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { connectBroker } from "../src/broker/connect-broker.js";
import { DEFAULT_MAX_FRAME_BYTES } from "../src/broker/frame-codec.js";
import { InvalidConfigError, RecordTooLargeError } from "../src/errors.js";
import { openEmbeddedLog } from "../src/embedded-log.js";
import { encodeBatch } from "../src/record-batch.js";
import { MAX_MESSAGE_BYTES_LIMIT, parseTopicConfigEntries } from "../src/topic-config.js";
import { TopicRegistry } from "../src/storage/topic-registry.js";
import { eventually, startBrokerProcess } from "./broker-helpers.js";
import { removeTempDirs, tempDir } from "./storage-helpers.js";

afterEach(removeTempDirs);

describe("max.message.bytes and the broker's frame limit", () => {
  it("refuses a topic whose records could be stored but never fetched over the broker, at create and at alter", async () => {
    expect(MAX_MESSAGE_BYTES_LIMIT).toBeLessThan(DEFAULT_MAX_FRAME_BYTES);
    const limit = new RegExp(
      `max\\.message\\.bytes=100000000: expected at most ${MAX_MESSAGE_BYTES_LIMIT}`,
    );
    expect(() => parseTopicConfigEntries({ "max.message.bytes": "100000000" })).toThrow(limit);

    const client = await openEmbeddedLog(tempDir(), { maintenanceIntervalMs: 0 });
    await expect(
      client.admin.createTopic("big", { partitions: 1, config: { maxMessageBytes: 100_000_000 } }),
    ).rejects.toThrow(limit);
    expect(await client.admin.listTopics()).toEqual([]);
    await client.close();

    const registry = TopicRegistry.open(tempDir());
    registry.create("t", { partitions: 1 });
    expect(() => registry.updateConfig("t", { maxMessageBytes: 100_000_000 })).toThrow(
      InvalidConfigError,
    );
    expect(registry.get("t").config.maxMessageBytes).toBe(8 * 1024 * 1024);
    await registry.close();
  });

  it("serves a topic stored before the limit with the limit, so no larger record gets in", async () => {
    const dir = tempDir();
    let registry = TopicRegistry.open(dir);
    registry.create("old", { partitions: 1 });
    await registry.close();
    const metaFile = path.join(dir, "old.topic.json");
    const meta = JSON.parse(fs.readFileSync(metaFile, "utf8"));
    meta.config.maxMessageBytes = 100_000_000;
    fs.writeFileSync(metaFile, JSON.stringify(meta));

    registry = TopicRegistry.open(dir);
    expect(registry.get("old").config.maxMessageBytes).toBe(MAX_MESSAGE_BYTES_LIMIT);
    const big = encodeBatch([{ key: null, value: Buffer.alloc(MAX_MESSAGE_BYTES_LIMIT) }]);
    await expect(registry.partition("old", 0).append(big)).rejects.toThrow(RecordTooLargeError);
    expect(registry.partition("old", 0).logEndOffset).toBe(0);
    await registry.close();
  });

  it("a record at the limit goes through a broker with the default frame limit both ways; one over it is refused", async () => {
    const dir = tempDir();
    const broker = await startBrokerProcess(dir);
    const client = await connectBroker(broker.address);
    try {
      await client.admin.createTopic("t", {
        partitions: 1,
        config: { maxMessageBytes: MAX_MESSAGE_BYTES_LIMIT },
      });
      const producer = client.producer({ deliveryTimeoutMs: 5000 });
      const value = Buffer.alloc(MAX_MESSAGE_BYTES_LIMIT - 1024, 0x61);
      await producer.send("t", [{ key: null, value }]);
      await expect(
        producer.send("t", [{ key: null, value: Buffer.alloc(MAX_MESSAGE_BYTES_LIMIT) }]),
      ).rejects.toMatchObject({ code: "RECORD_TOO_LARGE" });

      const consumer = client.consumer({ groupId: "g", autoOffsetReset: "earliest" });
      await consumer.subscribe(["t"]);
      const got = await eventually(async () => {
        const polled = await consumer.poll({ maxWaitMs: 500 });
        return polled.flatMap((p) => p.records)[0];
      }, "the large record fetched over the broker");
      expect(got.offset).toBe(0);
      expect(got.value?.length).toBe(value.length);
      expect(got.value?.equals(value)).toBe(true);
      await consumer.close();
    } finally {
      await client.close();
      broker.proc.kill("SIGTERM");
      await broker.proc.exited;
    }
  });
});
