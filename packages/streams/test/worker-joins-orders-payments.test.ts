import path from "node:path";
import { connectBroker, openEmbeddedLog, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { CopartitioningError, runWorker } from "../src/index.js";
import ordersJoinsApp, { type Enriched } from "./fixtures/orders-joins-app.js";
import {
  readTopic,
  startBrokerProcess,
  startWorker,
  stopWorker,
  tempDir,
} from "./runtime-helpers.js";
import {
  CUSTOMER_PARTITIONS,
  createJoinTopics,
  enrichedReference,
  generateRounds,
  joinReference,
  joinTopics,
  produceRound,
} from "./worker-joins-helpers.js";
import { waitCaughtUp } from "./worker-windows-helpers.js";

const str = Serdes.string();

describe("joins on a real worker over a broker", () => {
  it("orders enriched with customers (stream-table left join) and paired with payments inside 5 minutes (inner and outer stream-stream joins) equal their references over 16,000 events", {
    timeout: 90_000,
  }, async () => {
    const rounds = generateRounds(20, 500, 300, 3);
    const enriched = enrichedReference(rounds);
    const ref = joinReference(rounds);
    expect(enriched.size).toBeGreaterThan(9000);
    expect([...enriched.values()].filter((e) => e.customer === null).length).toBeGreaterThan(500);
    expect(ref.pairs.size).toBeGreaterThan(1000);
    expect(ref.unmatched.size).toBeGreaterThan(1000);
    expect(ref.dropped).toBeGreaterThan(50);

    const b = await startBrokerProcess(tempDir("joins-broker"));
    const log = await connectBroker(b.address);
    try {
      await createJoinTopics(log);
      const w = await startWorker(b.address, "orders-joins-app.ts", tempDir("joins-state"), [
        "--commit-ms",
        "50",
      ]);
      // orders have 3 partitions, customers 2: the repartition topic feeding the join
      // takes the customers' count, so the join is co-partitioned
      const repartition = (await joinTopics(log)).slice(3);
      expect(repartition.length).toBe(1);
      expect((await log.admin.describeTopic(repartition[0]!)).partitions.length).toBe(
        CUSTOMER_PARTITIONS,
      );
      const producer = log.producer();
      const settle = async () => waitCaughtUp(log, "orders-joins-app", await joinTopics(log));
      for (const round of rounds) await produceRound(producer, round, settle);
      await settle();
      await producer.close();
      await stopWorker(w);

      const out = await readTopic(log, "enriched-orders", str, Serdes.json<Enriched>());
      expect(out.records.length).toBe(enriched.size);
      expect(new Map(out.records.map((r) => [r.value!.order, r.value]))).toEqual(enriched);
      // keyed by customer: the join ran after the repartition by customer
      const customerOf = new Map(
        rounds
          .flatMap((x) => x.events.flatMap((e) => (e.kind === "order" ? [e.order] : [])))
          .map((o) => [o.id, o.customer]),
      );
      for (const r of out.records) expect(r.key).toBe(customerOf.get(r.value!.order));

      const inner = (await readTopic(log, "paid-orders", str, str)).records.map((r) => r.value!);
      expect(inner.length).toBe(new Set(inner).size);
      expect(new Set(inner)).toEqual(ref.pairs);

      const outer = (await readTopic(log, "order-payments", str, str)).records.map((r) => r.value!);
      expect(outer.length).toBe(new Set(outer).size);
      expect(new Set(outer)).toEqual(new Set([...ref.pairs, ...ref.unmatched]));
    } finally {
      await log.close();
      b.proc.kill("SIGTERM");
      await b.proc.exited;
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
