import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectBroker } from "../src/broker/connect-broker.js";
import type { LogClient } from "../src/log-client.js";
import {
  type BrokerProc,
  type ChildProc,
  FIXTURES_DIR,
  eventually,
  spawnTs,
  startBrokerProcess,
  tempDir,
} from "./broker-helpers.js";

interface Polled {
  p: number;
  offsets: number[];
  values: string[];
}

const PARTITIONS = 6;
const PER_PRODUCER = 10_000;

/** Waits until the group has `members` members and every partition is assigned. */
export async function groupStable(admin: LogClient["admin"], groupId: string, members: number) {
  return eventually(async () => {
    const d = await admin.describeGroup(groupId);
    const assigned = d.members.reduce((n, m) => n + m.assignment.length, 0);
    return d.state === "Stable" && d.members.length === members && assigned === PARTITIONS
      ? d
      : undefined;
  }, `group ${groupId} stable with ${members} members`);
}

describe("a consumer group of processes over the broker", () => {
  let dir: string;
  let broker: BrokerProc;
  let admin: LogClient;
  const consumers: ChildProc[] = [];

  beforeAll(async () => {
    dir = tempDir("broker-group");
    broker = await startBrokerProcess(dir);
    admin = await connectBroker(broker.address);
    await admin.admin.createTopic("orders", { partitions: PARTITIONS });
  });

  afterAll(async () => {
    for (const c of consumers) c.kill("SIGKILL");
    await admin.close();
    broker.proc.kill("SIGTERM");
    await broker.proc.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("two producers, three consumers: every record consumed exactly once, in order per partition", async () => {
    for (let i = 0; i < 3; i++) {
      consumers.push(
        spawnTs(path.join(FIXTURES_DIR, "broker-consumer.ts"), [
          broker.address,
          "g",
          "orders",
          "6000",
        ]),
      );
    }
    // Start producing only once the group has settled, so no rebalance moves a partition
    // between a member's poll and its commit (that would legitimately redeliver).
    await groupStable(admin.admin, "g", 3);
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
