import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { encodeBatch } from "../src/record-batch.js";
import { ManualClock, removeTempDirs, tempDir } from "./storage-helpers.js";

afterEach(removeTempDirs);

const HOUR = 3_600_000;

describe("log maintenance", () => {
  it("a partition that fails its compaction does not stop retention of the other topics", async () => {
    const dir = tempDir();
    const clock = new ManualClock(100 * HOUR);
    const service = await EmbeddedLogService.open(dir, {
      now: clock.now,
      maintenanceIntervalMs: 0,
    });
    try {
      // "a" sorts first and is compacted; "b" is time-retained.
      await service.createTopic("a", {
        partitions: 1,
        config: { cleanupPolicy: "compact", segmentBytes: 1024, flushPolicy: "always" },
      });
      await service.createTopic("b", {
        partitions: 1,
        config: { retentionMs: HOUR, segmentBytes: 1024 },
      });
      for (let i = 0; i < 40; i++) {
        const record = { key: Buffer.from(`k${i % 3}`), value: Buffer.alloc(100, i), timestamp: 0 };
        await service.produce("a", 0, encodeBatch([record]));
        await service.produce("b", 0, encodeBatch([{ ...record, key: null }]));
      }
      // Bit rot in the first sealed segment of "a": its compaction must fail, loudly.
      const aDir = path.join(dir, "a-0");
      const first = fs
        .readdirSync(aDir)
        .filter((n) => n.endsWith(".log"))
        .sort()[0]!;
      const fd = fs.openSync(path.join(aDir, first), "r+");
      fs.writeSync(fd, Buffer.from([0xff, 0xff, 0xff]), 0, 3, 80);
      fs.closeSync(fd);

      expect(() => service.runMaintenance()).toThrow(/corrupt record batch in segment .*a-0/);
      // Every record of "b" is hours old: retention still ran there.
      const b = await service.describeTopic("b");
      expect(b.partitions[0]!.logStartOffset).toBeGreaterThan(0);
    } finally {
      await service.close();
    }
  });
});
