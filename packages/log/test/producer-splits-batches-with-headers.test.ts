import { afterEach, describe, expect, it } from "vitest";
import { openEmbeddedLog } from "../src/embedded-log.js";
import { removeTempDirs, tempDir } from "./storage-helpers.js";

afterEach(removeTempDirs);

describe("the producer's batches", () => {
  it("count headers toward the batch size, so records with large headers fit max.message.bytes", async () => {
    const client = await openEmbeddedLog(tempDir(), { maintenanceIntervalMs: 0 });
    // 1 MiB per batch is the producer's aim; the topic refuses batches over 2 MiB. Small
    // values with 2 KB of headers each (a dead-letter record's error, task, offsets):
    // counted by key and value alone, 4,000 of them went out as one 8 MB batch.
    await client.admin.createTopic("dlq", {
      partitions: 1,
      config: { maxMessageBytes: 2 * 1024 * 1024 },
    });
    const records = Array.from({ length: 4000 }, (_, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.from(`v${i}`),
      headers: { "error.message": "x".repeat(2000), "error.offset": String(i) },
    }));
    const acks = await client.producer().send("dlq", records);
    expect(acks).toEqual([{ topic: "dlq", partition: 0, baseOffset: 0, lastOffset: 3999 }]);
    const c = client.consumer();
    c.assign([{ topic: "dlq", partition: 0 }]);
    c.seek({ topic: "dlq", partition: 0 }, 0);
    const offsets: number[] = [];
    for (let tries = 0; offsets.length < 4000 && tries < 1000; tries++) {
      for (const fp of await c.poll({ maxWaitMs: 50 })) {
        for (const r of fp.records) {
          expect(r.headers["error.offset"]?.toString()).toBe(String(r.offset));
          offsets.push(r.offset);
        }
      }
    }
    expect(offsets).toEqual(Array.from({ length: 4000 }, (_, i) => i));
    await c.close();
    await client.close();
  });
});
