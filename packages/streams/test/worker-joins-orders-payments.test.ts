import path from "node:path";
import { openEmbeddedLog } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { CopartitioningError, runWorker } from "../src/index.js";
import ordersJoinsApp from "./fixtures/orders-joins-app.js";
import { brokerBackend, tempDir } from "./runtime-helpers.js";
import { ordersJoinsScenario } from "./worker-scenarios.js";

// The first scenario lives in worker-scenarios.ts, so the Kafka suite runs the same one.

describe("joins on a real worker over a broker", () => {
  it("orders enriched with customers (stream-table left join) and paired with payments inside 5 minutes (inner and outer stream-stream joins) equal their references over 16,000 events", {
    timeout: 300_000, // a hang guard (loaded machines)
  }, async () => {
    const backend = await brokerBackend();
    try {
      await ordersJoinsScenario(backend);
    } finally {
      await backend.close();
    }
  });

  it("refuses to start when a join's inputs have different partition counts, naming the topics and counts", async () => {
    const dir = tempDir("joins-copart");
    const log = await openEmbeddedLog(path.join(dir, "log"), { maintenanceIntervalMs: 0 });
    try {
      await log.admin.createTopic("orders", { partitions: 3 });
      await log.admin.createTopic("payments", { partitions: 2 });
      await log.admin.createTopic("customers", { partitions: 2 });
      for (const t of ["enriched-orders", "paid-orders", "order-payments"]) {
        await log.admin.createTopic(t, { partitions: 1 });
      }
      const worker = runWorker(ordersJoinsApp, { log, stateDir: path.join(dir, "state") });
      const err = await worker.start().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CopartitioningError);
      expect((err as Error).message).toMatch(/'orders' has 3, 'payments' has 2 partitions/);
    } finally {
      await log.close();
    }
  });
});
