import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  brokerWithTopic,
  eventually,
  FIXTURES_DIR,
  groupStable,
  type Polled,
  spawnConsumer,
  spawnTs,
} from "./broker-helpers.js";

const PARTITIONS = 6;
const PER_PRODUCER = 10_000;

describe("a consumer group of processes over the broker", () => {
  const env = brokerWithTopic("broker-group", "orders", PARTITIONS);
  const consumers = env.consumers;

  it("two producers, three consumers: every record consumed exactly once, in order per partition", async () => {
    const { broker, client: admin } = env;
    for (let i = 0; i < 3; i++) {
      consumers.push(spawnConsumer(broker.address, "g", "orders", 6000));
    }
    // Start producing only once the group has settled, so no rebalance moves a partition
    // between a member's poll and its commit (that would legitimately redeliver).
    await groupStable(admin.admin, "g", 3, PARTITIONS);
    const producers = ["a", "b"].map((name) =>
      spawnTs(path.join(FIXTURES_DIR, "broker-producer.ts"), [
        broker.address,
        "orders",
        name,
        String(PER_PRODUCER),
        "500",
      ]),
    );
    for (const p of producers) {
      await p.waitForLine((l) => l.includes('"done"'), "producer done", 50_000);
      expect((await p.exited).code).toBe(0);
    }
    const polled = () =>
      consumers.flatMap((c) => c.events<Polled>().filter((e) => e.p !== undefined));
    const total = 2 * PER_PRODUCER;
    await eventually(
      () => (polled().reduce((n, e) => n + e.values.length, 0) >= total ? true : undefined),
      "all records consumed",
      50_000,
    );
    // Stop the members cleanly so nothing more can arrive, then check what they saw.
    for (const c of consumers) c.kill("SIGTERM");
    for (const c of consumers) expect((await c.exited).code).toBe(0);

    const all = polled();
    const values = all.flatMap((e) => e.values);
    expect(values.length).toBe(total);
    expect(new Set(values).size).toBe(total);
    // Each member got some share of the work.
    for (const c of consumers) expect(c.events<Polled>().some((e) => e.p !== undefined)).toBe(true);

    // Per partition: offsets strictly increase in delivery order, and each producer's
    // records appear in the order it sent them.
    const byPartition = new Map<number, { offsets: number[]; values: string[] }>();
    for (const c of consumers) {
      const delivered = new Map<number, number>();
      for (const e of c.events<Polled>()) {
        if (e.p === undefined) continue;
        // Within one member, a partition's records arrive in offset order.
        for (const o of e.offsets) {
          expect(o).toBeGreaterThan(delivered.get(e.p) ?? -1);
          delivered.set(e.p, o);
        }
        const entry = byPartition.get(e.p) ?? { offsets: [], values: [] };
        entry.offsets.push(...e.offsets);
        entry.values.push(...e.values);
        byPartition.set(e.p, entry);
      }
    }
    expect(byPartition.size).toBe(PARTITIONS);
    for (const [, { offsets, values: vs }] of byPartition) {
      const sorted = offsets.map((o, i) => [o, vs[i]!] as const).sort((x, y) => x[0] - y[0]);
      expect(sorted.map(([o]) => o)).toEqual(sorted.map((_, i) => i));
      const lastSeq = new Map<string, number>();
      for (const [, v] of sorted) {
        const [name, seq] = v.split(":") as [string, string];
        expect(Number(seq)).toBeGreaterThan(lastSeq.get(name) ?? -1);
        lastSeq.set(name, Number(seq));
      }
    }
    // The group committed everything it consumed.
    const committed = await admin.admin.fetchCommittedOffsets("g", ["orders"]);
    expect(committed.reduce((n, o) => n + o.offset, 0)).toBe(total);
  });
});
