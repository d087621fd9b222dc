import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { LogService, ProduceAck } from "../src/client/log-service.js";
import { ServiceLogClient } from "../src/client/service-log-client.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { ProtocolError } from "../src/errors.js";
import { removeTempDirs, tempDir } from "./storage-helpers.js";

/** Where a v2 batch keeps its base sequence (Kafka's layout). */
const BASE_SEQUENCE_AT = 53;

/**
 * A real embedded log whose answer to the first batch (sequence 0) is lost once after the
 * log stored it, as a request timeout loses a late answer, while later answers arrive. The
 * retry of that batch is held back until six later batches are stored or two seconds pass:
 * more than the five batches the log remembers per producer. Fault injection around the
 * real service, not a mock: every batch is stored by the real log.
 */
function loseFirstAnswer(inner: LogService) {
  let lost = false;
  let laterStored = 0;
  let storedBeforeRetry = -1;
  const produce = async (topic: string, partition: number, batch: Buffer): Promise<ProduceAck> => {
    const sequence = batch.readInt32BE(BASE_SEQUENCE_AT);
    if (sequence !== 0) {
      const ack = await inner.produce(topic, partition, batch);
      laterStored++;
      return ack;
    }
    if (!lost) {
      lost = true;
      await inner.produce(topic, partition, batch);
      throw new ProtocolError(
        "TIMEOUT",
        "Produce got no answer (fault injected after the append)",
        {
          retriable: true,
        },
      );
    }
    const until = Date.now() + 2000;
    while (laterStored < 6 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    if (storedBeforeRetry < 0) storedBeforeRetry = laterStored;
    return inner.produce(topic, partition, batch);
  };
  const service = new Proxy(inner, {
    get(target, prop) {
      if (prop === "produce") return produce;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    service,
    laterStored: () => laterStored,
    storedBeforeRetry: () => storedBeforeRetry,
  };
}

describe("an idempotent producer whose first answer is lost while later ones arrive", () => {
  afterEach(() => removeTempDirs());

  it("re-sends the batch before later ones can push it out of the log's memory: every send succeeds, each record once", async () => {
    const dir = tempDir("lost-answer");
    const inner = await EmbeddedLogService.open(dir, { maintenanceIntervalMs: 0 });
    const fault = loseFirstAnswer(inner);
    const client = new ServiceLogClient(fault.service);
    try {
      await client.admin.createTopic("t", { partitions: 1 });
      const producer = client.producer({ deliveryTimeoutMs: 8000 });
      // 20 one-record sends to one partition, all at once: 20 batches, 5 in flight.
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, n) =>
          producer.send("t", [{ value: Buffer.from(String(n)) }]),
        ),
      );
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      expect(fault.laterStored()).toBe(19);
      // While the lost batch was unanswered, no more than the 4 later batches already in
      // flight were stored: the producer sent no new ones past it.
      expect(fault.storedBeforeRetry()).toBeGreaterThanOrEqual(0);
      expect(fault.storedBeforeRetry()).toBeLessThanOrEqual(4);

      const consumer = client.consumer();
      consumer.assign([{ topic: "t", partition: 0 }]);
      consumer.seek({ topic: "t", partition: 0 }, 0);
      const values: string[] = [];
      const deadline = Date.now() + 30_000;
      while (values.length < 20 && Date.now() < deadline) {
        for (const fp of await consumer.poll({ maxWaitMs: 100 })) {
          for (const r of fp.records) values.push(r.value!.toString());
        }
      }
      expect([...values].sort((a, b) => Number(a) - Number(b))).toEqual(
        Array.from({ length: 20 }, (_, n) => String(n)),
      );
      const [end] = await client.admin.listOffsets("t", "latest");
      expect(end!.offset).toBe(20);
    } finally {
      await client.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
