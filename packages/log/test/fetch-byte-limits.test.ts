import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { encodeBatch } from "../src/record-batch.js";
import { ServiceLogClient } from "../src/client/service-log-client.js";
import { removeTempDirs, tempDir } from "./storage-helpers.js";

afterEach(removeTempDirs);

describe("fetch byte limits", () => {
  it("returns at least one whole batch even when the response limit is 0 or below, so a consumer always progresses", async () => {
    const service = await EmbeddedLogService.open(tempDir(), { maintenanceIntervalMs: 0 });
    try {
      await service.createTopic("t", { partitions: 2 });
      await service.produce("t", 1, encodeBatch([{ value: Buffer.alloc(200, 1) }]));
      for (const maxBytes of [0, -1]) {
        const responses = await service.fetch(
          [
            { topic: "t", partition: 0, offset: 0, maxBytes: 1024 },
            { topic: "t", partition: 1, offset: 0, maxBytes: 1024 },
          ],
          { maxWaitMs: 0, minBytes: 1, maxBytes },
        );
        expect(responses[0]!.records.length).toBe(0);
        expect(responses[1]!.records.length).toBeGreaterThan(200);
      }

      const client = new ServiceLogClient(service);
      const consumer = client.consumer({ autoOffsetReset: "earliest", maxPollBytes: 1 });
      consumer.assign([{ topic: "t", partition: 1 }]);
      const polled = await consumer.poll({ maxWaitMs: 0 });
      expect(polled.flatMap((p) => p.records).length).toBe(1);
      await consumer.close();
    } finally {
      await service.close();
    }
  });
});
