import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { encodeBatch } from "../src/record-batch.js";
import {
  DEFAULT_TOPIC_CONFIG,
  isPastRetention,
  resolveTopicConfig,
  retentionHorizon,
  type TopicConfig,
} from "../src/topic-config.js";
import { eventually } from "./broker-helpers.js";
import { ManualClock, removeTempDirs, tempDir } from "./storage-helpers.js";

afterEach(removeTempDirs);

const DAY = 24 * 3_600_000;
const MARCH_2024 = Date.parse("2024-03-01T00:00:00.000Z");

type Event = Record<string, unknown> & { event?: string; msg?: string };

/** A log on a temp dir with one 1-partition topic of 2 KiB segments, its info lines collected. */
async function openService(clock: ManualClock, topic: string, config: Partial<TopicConfig> = {}) {
  const events: Event[] = [];
  const logger = pino({ level: "info" }, { write: (l: string) => events.push(JSON.parse(l)) });
  const service = await EmbeddedLogService.open(tempDir(), {
    now: clock.now,
    maintenanceIntervalMs: 0,
    logger,
    diskReserveBytes: 0,
  });
  await service.createTopic(topic, { partitions: 1, config: { segmentBytes: 2048, ...config } });
  return { service, events };
}

/** `n` one-record batches of key k<i % keys>, stamped `timestamp`. */
async function produce(
  service: EmbeddedLogService,
  topic: string,
  n: number,
  timestamp: number,
  keys = n,
) {
  for (let i = 0; i < n; i++) {
    const record = { key: Buffer.from(`k${i % keys}`), value: Buffer.alloc(100, 1), timestamp };
    await service.produce(topic, 0, encodeBatch([record]));
  }
}

describe("deletions by retention and compaction", () => {
  it("logs each retention deletion with topic, partition, segments, records and why, and describe says where history starts", async () => {
    // The examples' case: records stamped March 2024, the broker's clock 640 days later.
    const clock = new ManualClock(MARCH_2024 + 640 * DAY + 3_600_000);
    const { service, events } = await openService(clock, "old");
    await produce(service, "old", 60, MARCH_2024);
    service.runMaintenance();

    const deleted = events.filter((e) => e.event === "retention-deleted");
    expect(deleted).toHaveLength(1);
    const d = deleted[0]!;
    expect(d).toMatchObject({
      level: 30,
      topic: "old",
      partition: 0,
      limit: "retention.ms",
      fromOffset: 0,
      toOffset: 60,
      records: 60,
    });
    expect(d.segments as number).toBeGreaterThan(1);
    expect(d.why).toBe(
      "retention.ms=604800000 exceeded: newest record 2024-03-01T00:00:00.000Z is 640 days old",
    );
    expect(d.msg).toMatch(/^deleted \d+ segment\(s\) of old-0, offsets 0\.\.59 \(60 records/);

    const [p] = (await service.describeTopic("old")).partitions;
    expect(p!.logStartOffset).toBe(60);
    expect(p!.lastRetentionDeletion).toMatchObject({ limit: "retention.ms", records: 60 });
    await service.close();
  });

  it("names retention.bytes when size is why", async () => {
    const clock = new ManualClock(Date.now());
    const { service, events } = await openService(clock, "sized", { retentionBytes: 4096 });
    await produce(service, "sized", 100, clock.time);
    service.runMaintenance();
    const d = events.find((e) => e.event === "retention-deleted");
    expect(d).toMatchObject({ topic: "sized", limit: "retention.bytes", fromOffset: 0 });
    expect(d!.why).toMatch(/^retention\.bytes=4096 exceeded: the partition held \d+ bytes$/);
    await service.close();
  });

  it("logs what compaction removed, superseded records and tombstones apart", async () => {
    const clock = new ManualClock(Date.now());
    const { service, events } = await openService(clock, "table", { cleanupPolicy: "compact" });
    await produce(service, "table", 80, clock.time, 4);
    // Compaction takes sealed segments once their background flush has finished.
    const c = await eventually(() => {
      service.runMaintenance();
      return events.find((e) => e.event === "compaction-removed");
    }, "a compaction");
    expect(c).toMatchObject({ topic: "table", partition: 0, tombstones: 0 });
    expect(c!.superseded as number).toBeGreaterThan(0);
    expect(c!.records).toBe(c!.superseded);
    expect(c!.msg).toMatch(/superseded by a newer record of the same key/);
    await service.close();
  });

  it("tells a producer whether a timestamp is already past a topic's retention", () => {
    const now = MARCH_2024 + 640 * DAY;
    const config = resolveTopicConfig({});
    expect(retentionHorizon(config, now)).toBe(now - DEFAULT_TOPIC_CONFIG.retentionMs);
    expect(isPastRetention(config, MARCH_2024, now)).toBe(true);
    expect(isPastRetention(config, now - DAY, now)).toBe(false);
    expect(isPastRetention(resolveTopicConfig({ retentionMs: -1 }), MARCH_2024, now)).toBe(false);
    expect(isPastRetention(resolveTopicConfig({ cleanupPolicy: "compact" }), MARCH_2024, now)).toBe(
      false,
    );
    expect(
      isPastRetention(resolveTopicConfig({ cleanupPolicy: "compact,delete" }), MARCH_2024, now),
    ).toBe(true);
  });
});
