import { GroupError } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { pollUntil, suiteLog } from "./kafka-helpers.js";

describe("a member the coordinator dropped cannot commit on Kafka", () => {
  const suite = suiteLog("zmb");

  it("its old positions never overwrite what the next owner committed, even once the group is empty", async () => {
    const { log } = suite;
    await log.admin.createTopic("input", { partitions: 1 });
    const producer = log.producer();
    const send = (n: number) =>
      producer.send(
        "input",
        Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`r${i}`), partition: 0 })),
      );
    await send(10);
    const member = (rebalanceTimeoutMs: number) =>
      suite.consumer({
        groupId: "g",
        autoOffsetReset: "earliest",
        sessionTimeoutMs: 6000,
        rebalanceTimeoutMs,
      });
    const tp = { topic: "input", partition: 0 };

    // the zombie-to-be reads and commits 10
    const zombie = member(2000);
    await zombie.subscribe(["input"]);
    await pollUntil(zombie, () => zombie.position(tp) === 10, "the first member read 10");
    await zombie.commit();

    // it stops polling: a second member joins, the rebalance drops it after its 2 s
    // rebalance timeout, and the newcomer reads on, commits 25 and leaves (group empty)
    await send(15);
    const next = member(30_000);
    await next.subscribe(["input"]);
    await pollUntil(next, () => next.position(tp) === 25, "the second member read 25");
    await next.commit();
    await next.close();
    expect((await log.admin.describeGroup("g")).state).toBe("Empty");

    // every commit the dropped member tries is refused as fenced, before and after its
    // heartbeat learns it was dropped; none reaches the group's offsets
    for (let attempt = 0; attempt < 3; attempt++) {
      const refused = await zombie.commit([{ ...tp, offset: 10 }]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused, `commit attempt ${attempt}`).toBeInstanceOf(GroupError);
      expect(["UNKNOWN_MEMBER", "ILLEGAL_GENERATION"]).toContain((refused as GroupError).code);
    }
    expect(await log.admin.fetchCommittedOffsets("g")).toEqual([{ ...tp, offset: 25 }]);
    await producer.close();
  }, 120_000);
});
