import type { Consumer, GroupState } from "@tributary/log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { groupStateOf } from "../src/group-state.js";
import type { KafkaLog } from "../src/kafka-log.js";
import { dropNamespace, openTestLog, uniqueNamespace } from "./kafka-helpers.js";

/** Every value of Kafka's org.apache.kafka.common.GroupState, as the broker spells it. */
const KAFKA_STATES: [string, GroupState][] = [
  ["PreparingRebalance", "PreparingRebalance"],
  ["CompletingRebalance", "CompletingRebalance"],
  ["Stable", "Stable"],
  ["Dead", "Dead"],
  ["Empty", "Empty"],
  ["Assigning", "PreparingRebalance"],
  ["Reconciling", "CompletingRebalance"],
  ["NotReady", "PreparingRebalance"],
];

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not seen in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("a Kafka group's state as LogClient reports it", () => {
  it("maps every state Kafka names, however it is cased, and never a live group to Dead", () => {
    for (const [kafka, ours] of KAFKA_STATES) {
      // as the broker sends it, as the Kafka client hands it over, as kafka-consumer-groups prints it
      const snake = kafka.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
      for (const spelling of [kafka, kafka.toUpperCase(), snake]) {
        expect(groupStateOf(spelling, 2), spelling).toBe(ours);
      }
    }
    expect(groupStateOf("Unknown", 2)).toBe("Stable");
    expect(groupStateOf("Unknown", 0)).toBe("Empty");
    expect(groupStateOf(undefined, 0)).toBe("Dead");
  });

  describe("on the broker", () => {
    const namespace = uniqueNamespace("gst");
    let log: KafkaLog;
    const consumers: Consumer[] = [];

    beforeAll(async () => {
      log = await openTestLog(namespace);
    });
    afterAll(async () => {
      await Promise.all(consumers.map((c) => c.close().catch(() => {})));
      await log.close();
      await dropNamespace(namespace);
    });

    it("reports a live group that is rebalancing as PreparingRebalance, then Stable", async () => {
      await log.admin.createTopic("words", { partitions: 2 });
      const member = () => {
        const c = log.consumer({ groupId: "counters", sessionTimeoutMs: 30_000 });
        consumers.push(c);
        return c;
      };
      const a = member();
      await a.subscribe(["words"]);
      await until("a owning both partitions", async () => {
        await a.poll({ maxWaitMs: 50 });
        return a.assignment().length === 2 ? true : undefined;
      });
      expect((await log.admin.describeGroup("counters")).state).toBe("Stable");

      // b joins; the group waits in PreparingRebalance until a (not polling) rejoins.
      const b = member();
      await b.subscribe(["words"]);
      const joining = b.poll({ maxWaitMs: 50 });
      const seen = await until("the group rebalancing", async () => {
        const d = await log.admin.describeGroup("counters");
        return d.state === "Stable" ? undefined : d;
      });
      expect(seen.state).toBe("PreparingRebalance");
      expect(seen.members.length).toBeGreaterThan(0);
      const listed = (await log.admin.listGroups()).find((g) => g.groupId === "counters");
      expect(listed?.state).toBe("PreparingRebalance");

      // a rejoins on its next poll: the group settles with both members.
      await until("both members sharing the partitions", async () => {
        await a.poll({ maxWaitMs: 50 });
        return a.assignment().length === 1 ? true : undefined;
      });
      await joining;
      await until("b owning a partition", async () => {
        await b.poll({ maxWaitMs: 50 });
        return b.assignment().length === 1 ? true : undefined;
      });
      const settled = await log.admin.describeGroup("counters");
      expect(settled.state).toBe("Stable");
      expect(settled.members).toHaveLength(2);
    }, 120_000);
  });
});
