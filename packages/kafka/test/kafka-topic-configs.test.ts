import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaLog } from "../src/kafka-log.js";
import { dropNamespace, openTestLog, uniqueNamespace } from "./kafka-helpers.js";

describe("topic configs map to Kafka's names and read back", () => {
  const namespace = uniqueNamespace("cfg");
  let log: KafkaLog;

  beforeAll(async () => {
    log = await openTestLog(namespace);
  });
  afterAll(async () => {
    await log.close();
    await dropNamespace(namespace);
  });

  it("a compacted changelog with fsync on every append", async () => {
    await log.admin.createTopic("app-store-changelog", {
      partitions: 2,
      config: {
        cleanupPolicy: "compact",
        flushPolicy: "always",
        minCompactionLagMs: 5_000,
        deleteRetentionMs: 60_000,
        segmentBytes: 1024 * 1024,
      },
    });
    const d = await log.admin.describeTopic("app-store-changelog");
    expect(d.config).toMatchObject({
      cleanupPolicy: "compact",
      flushPolicy: "always",
      minCompactionLagMs: 5_000,
      deleteRetentionMs: 60_000,
      segmentBytes: 1024 * 1024,
    });
    expect(d.partitions.map((p) => p.segments)).toEqual([-1, -1]);
  });

  it("compact,delete with an fsync interval, and the cluster's defaults for the rest", async () => {
    await log.admin.createTopic("both", {
      partitions: 1,
      config: {
        cleanupPolicy: "compact,delete",
        flushPolicy: "interval",
        flushIntervalMs: 250,
        retentionMs: 3_600_000,
      },
    });
    const d = await log.admin.describeTopic("both");
    expect(d.config).toMatchObject({
      cleanupPolicy: "compact,delete",
      flushPolicy: "interval",
      flushIntervalMs: 250,
      retentionMs: 3_600_000,
    });
    // Not given: Kafka's default (1 GiB segments), not the embedded log's.
    expect(d.config.segmentBytes).toBe(1024 * 1024 * 1024);
    await log.producer().send("both", [{ key: Buffer.from("k"), value: Buffer.from("v") }]);
    const after = await log.admin.describeTopic("both");
    expect(after.partitions[0]!.logEndOffset).toBe(1);
    expect(after.partitions[0]!.sizeBytes).toBeGreaterThan(0);
  });
});
