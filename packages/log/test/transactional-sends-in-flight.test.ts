import { afterEach, describe, expect, it } from "vitest";
import { ServiceLogClient } from "../src/client/service-log-client.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { TransactionError } from "../src/errors.js";
import { removeTempDirs, tempDir } from "./storage-helpers.js";

afterEach(removeTempDirs);

/**
 * Counts the produce calls the log is serving at once: a real EmbeddedLogService whose
 * produce is wrapped, so the test sees how many batches a producer keeps in flight.
 */
function countInFlight(service: EmbeddedLogService): { max: () => number } {
  const produce = service.produce.bind(service);
  let now = 0;
  let max = 0;
  service.produce = async (topic, partition, batch) => {
    now++;
    max = Math.max(max, now);
    try {
      return await produce(topic, partition, batch);
    } finally {
      now--;
    }
  };
  return { max: () => max };
}

async function readAll(
  client: ServiceLogClient,
  service: EmbeddedLogService,
  topic: string,
  isolation: "read_committed" | "read_uncommitted",
): Promise<Map<number, string[]>> {
  const d = await service.describeTopic(topic);
  const c = client.consumer({ isolation });
  const out = new Map<number, string[]>();
  try {
    const tps = d.partitions.map((p) => ({ topic, partition: p.partition }));
    c.assign(tps);
    for (const tp of tps) c.seek(tp, 0);
    const ends = new Map(d.partitions.map((p) => [p.partition, p.logEndOffset]));
    const deadline = Date.now() + 60_000;
    const done = () => tps.every((tp) => (c.position(tp) ?? 0) >= ends.get(tp.partition)!);
    while (!done() && Date.now() < deadline) {
      for (const fp of await c.poll({ maxWaitMs: 100 })) {
        const list = out.get(fp.partition) ?? [];
        for (const r of fp.records) list.push(r.value!.toString());
        out.set(fp.partition, list);
      }
    }
  } finally {
    await c.close();
  }
  return out;
}

describe("a transactional producer's sends in flight", () => {
  it("keeps several sends of one transaction in flight, each partition getting them in call order, once, all committed together", async () => {
    const service = await EmbeddedLogService.open(tempDir(), { maintenanceIntervalMs: 0 });
    const client = new ServiceLogClient(service);
    const inFlight = countInFlight(service);
    try {
      // flush always: each ack waits for an fdatasync, so batches overlap if the producer lets them.
      await client.admin.createTopic("t", { partitions: 3, config: { flushPolicy: "always" } });
      const txn = client.transactionalProducer({ transactionalId: "pipelined" });
      await txn.initTransactions();
      await txn.beginTransaction();
      const SENDS = 40;
      const keys = Array.from({ length: 6 }, (_, k) => `k${k}`);
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < SENDS; i++) {
        sends.push(
          txn.send(
            "t",
            keys.map((k) => ({ key: Buffer.from(k), value: Buffer.from(`${k}:${i}`) })),
          ),
        );
      }
      await Promise.all(sends);
      await txn.commitTransaction();
      await txn.close();
      // One send makes one batch per partition it writes: more at once means sends overlapped.
      expect(inFlight.max()).toBeGreaterThan(3);

      const byKey = new Map<string, number[]>();
      for (const values of (await readAll(client, service, "t", "read_committed")).values()) {
        for (const v of values) {
          const [k, i] = v.split(":") as [string, string];
          byKey.set(k, [...(byKey.get(k) ?? []), Number(i)]);
        }
      }
      const inOrder = Array.from({ length: SENDS }, (_, i) => i);
      expect(new Map([...byKey].sort())).toEqual(new Map(keys.map((k) => [k, inOrder])));
    } finally {
      await client.close();
    }
  });

  it("aborts a transaction with sends still in flight only once they settle: none lands after the marker", async () => {
    const service = await EmbeddedLogService.open(tempDir(), { maintenanceIntervalMs: 0 });
    const client = new ServiceLogClient(service);
    try {
      await client.admin.createTopic("a", { partitions: 3, config: { flushPolicy: "always" } });
      const txn = client.transactionalProducer({ transactionalId: "aborting" });
      await txn.initTransactions();
      await txn.beginTransaction();
      const sends = Array.from({ length: 30 }, (_, i) =>
        txn.send("a", [{ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) }]),
      );
      await txn.abortTransaction();
      const outcomes = await Promise.allSettled(sends);
      expect(outcomes.every((o) => o.status === "fulfilled")).toBe(true);
      const fetched = await service.fetch(
        [0, 1, 2].map((partition) => ({ topic: "a", partition, offset: 0, maxBytes: 1 << 20 })),
        { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolation: "read_committed" },
      );
      for (const f of fetched) expect(f.lastStableOffset).toBe(f.highWatermark);
      const read = await readAll(client, service, "a", "read_committed");
      expect([...read.values()].flat()).toEqual([]);
      const uncommitted = await readAll(client, service, "a", "read_uncommitted");
      expect([...uncommitted.values()].flat()).toHaveLength(30);
      await txn.close();
    } finally {
      await client.close();
    }
  });

  it("after a send fails, refuses the commit, stops the sends behind it, and aborts with nothing of the transaction left open or visible", {
    timeout: 60_000,
  }, async () => {
    const service = await EmbeddedLogService.open(tempDir(), { maintenanceIntervalMs: 0 });
    const client = new ServiceLogClient(service);
    try {
      await client.admin.createTopic("small", {
        partitions: 1,
        config: { flushPolicy: "always", maxMessageBytes: 4096 },
      });
      const txn = client.transactionalProducer({ transactionalId: "failing" });
      await txn.initTransactions();
      await txn.beginTransaction();
      const record = (v: string) => [{ key: Buffer.from("k"), value: Buffer.from(v) }];
      const sends = [
        ...Array.from({ length: 5 }, (_, i) => txn.send("small", record(`before${i}`))),
        // Over max.message.bytes: refused by the log, not retriable.
        txn.send("small", record("x".repeat(10_000))),
        ...Array.from({ length: 5 }, (_, i) => txn.send("small", record(`after${i}`))),
      ];
      const started = Date.now();
      const outcomes = await Promise.allSettled(sends);
      expect(outcomes[5]!.status).toBe("rejected");
      // The sends behind the refused batch found a sequence gap: they stop, rather than
      // retrying it until the 30 s delivery timeout.
      for (const o of outcomes.slice(6)) expect(o.status).toBe("rejected");
      expect(Date.now() - started).toBeLessThan(20_000);
      await expect(txn.commitTransaction()).rejects.toBeInstanceOf(TransactionError);
      await txn.abortTransaction();

      const [fetched] = await service.fetch(
        [{ topic: "small", partition: 0, offset: 0, maxBytes: 1 << 20 }],
        { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolation: "read_committed" },
      );
      // No batch of the transaction landed after its ABORT marker to leave one open.
      expect(fetched!.lastStableOffset).toBe(fetched!.highWatermark);
      expect((await readAll(client, service, "small", "read_committed")).get(0) ?? []).toEqual([]);

      // The abort took a new epoch: the next transaction's sequences start again and commit.
      await txn.beginTransaction();
      await Promise.all(["n0", "n1", "n2"].map((v) => txn.send("small", record(v))));
      await txn.commitTransaction();
      await txn.close();
      expect((await readAll(client, service, "small", "read_committed")).get(0)).toEqual([
        "n0",
        "n1",
        "n2",
      ]);
    } finally {
      await client.close();
    }
  });
});
