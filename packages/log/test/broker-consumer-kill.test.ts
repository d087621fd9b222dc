import { describe, expect, it } from "vitest";
import {
  brokerWithTopic,
  eventually,
  groupStable,
  type Polled,
  spawnConsumer,
} from "./broker-helpers.js";

const PARTITIONS = 6;
const SESSION_TIMEOUT_MS = 3000;

describe("a consumer killed with SIGKILL", () => {
  const env = brokerWithTopic("broker-consumer-kill", "jobs", PARTITIONS);
  const consumers = env.consumers;

  it("loses its partitions to the others after its session timeout; commits never go backwards", async () => {
    const { broker, client } = env;
    // Every committed offset seen, sampled throughout: none may ever decrease.
    const highest = new Map<number, number>();
    let backwards: string | undefined;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const o of await client.admin.fetchCommittedOffsets("workers", ["jobs"])) {
          const prev = highest.get(o.partition) ?? -1;
          if (o.offset < prev) backwards = `partition ${o.partition}: ${prev} -> ${o.offset}`;
          highest.set(o.partition, Math.max(prev, o.offset));
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    for (let i = 0; i < 3; i++) {
      consumers.push(spawnConsumer(broker.address, "workers", "jobs", SESSION_TIMEOUT_MS));
    }
    const stable = (members: number) => groupStable(client.admin, "workers", members, PARTITIONS);
    const before = await stable(3);

    const producer = client.producer();
    const send = (from: number, to: number) =>
      producer.send(
        "jobs",
        Array.from({ length: to - from }, (_, i) => ({
          key: Buffer.from(`job-${from + i}`),
          value: Buffer.from(`job-${from + i}`),
        })),
      );
    const seen = () =>
      new Set(consumers.flatMap((c) => c.events<Polled>().flatMap((e) => e.values ?? [])));
    await send(0, 3000);
    await eventually(() => (seen().size >= 3000 ? true : undefined), "first 3000 consumed");

    const victim = consumers[0]!;
    const victimMember = before.members.find((m) => m.clientId === `consumer-${victim.pid}`)!;
    expect(victimMember.assignment.length).toBeGreaterThan(0);
    victim.kill("SIGKILL");
    await victim.exited;

    // The broker does not drop the member when its connection goes; its session does.
    const after = await stable(2);
    const survivors = after.members.map((m) => m.clientId).sort();
    expect(survivors).toEqual(
      consumers
        .slice(1)
        .map((c) => `consumer-${c.pid}`)
        .sort(),
    );
    const moved = victimMember.assignment.map((tp) => tp.partition);
    const nowOwned = after.members.flatMap((m) => m.assignment.map((tp) => tp.partition));
    for (const p of moved) expect(nowOwned).toContain(p);

    // New records, including on the victim's old partitions, reach the survivors.
    await send(3000, 6000);
    const survivorsSeen = () =>
      new Set(consumers.slice(1).flatMap((c) => c.events<Polled>().flatMap((e) => e.values ?? [])));
    await eventually(() => {
      const s = survivorsSeen();
      for (let i = 3000; i < 6000; i++) if (!s.has(`job-${i}`)) return undefined;
      return true;
    }, "records after the kill consumed by the survivors");
    const survivorPartitions = new Set(
      consumers.slice(1).flatMap((c) =>
        c
          .events<Polled>()
          .filter((e) => e.p !== undefined)
          .map((e) => e.p),
      ),
    );
    for (const p of moved) expect(survivorPartitions).toContain(p);
    // Everything committed in the end.
    await eventually(async () => {
      const c = await client.admin.fetchCommittedOffsets("workers", ["jobs"]);
      return c.reduce((n, o) => n + o.offset, 0) === 6000 ? true : undefined;
    }, "all 6000 committed");

    sampling = false;
    await sampler;
    expect(backwards).toBeUndefined();
    expect(highest.size).toBe(PARTITIONS);
  });
});
