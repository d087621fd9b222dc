import type { GroupState } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { groupStateOf } from "../src/group-state.js";
import { pollUntil, suiteLog } from "./kafka-helpers.js";

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
    const suite = suiteLog("gst");

    it("reports a live group that is rebalancing as PreparingRebalance, then Stable", async () => {
      const { log } = suite;
      await log.admin.createTopic("words", { partitions: 2 });
      const member = () => suite.consumer({ groupId: "counters", sessionTimeoutMs: 30_000 });
      const a = member();
      await a.subscribe(["words"]);
      await pollUntil(a, () => a.assignment().length === 2, "a owning both partitions");
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
      await pollUntil(a, () => a.assignment().length === 1, "both members sharing the partitions");
      await joining;
      await pollUntil(b, () => b.assignment().length === 1, "b owning a partition");
      const settled = await log.admin.describeGroup("counters");
      expect(settled.state).toBe("Stable");
      expect(settled.members).toHaveLength(2);
    }, 120_000);
  });
});
