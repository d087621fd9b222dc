import type { Consumer } from "@tributary/log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaLog } from "../src/kafka-log.js";
import { dropNamespace, kafkaBrokers, openTestLog, uniqueNamespace } from "./kafka-helpers.js";

kafkaBrokers();

const values = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`v${i}`) }));

async function consume(c: Consumer, n: number, waitMs = 60_000): Promise<number> {
  let got = 0;
  const deadline = Date.now() + waitMs;
  while (got < n && Date.now() < deadline) {
    for (const fp of await c.poll({ maxWaitMs: 100 })) got += fp.records.length;
  }
  return got;
}

// The worker's last commit happens in the revoke listener that close() runs: these cases go
// beyond the shared contract test, into what only a real group coordinator does.
describe("a Kafka consumer's close() hands its partitions back", () => {
  const namespace = uniqueNamespace("close");
  let log: KafkaLog;

  beforeAll(async () => {
    log = await openTestLog(namespace);
  });
  afterAll(async () => {
    await log.close();
    await dropNamespace(namespace);
  });

  it("commits in the revoke listener while another member waits to join, and that member starts there", async () => {
    await log.admin.createTopic("handover", { partitions: 2 });
    await log.producer().send("handover", values(40));
    let revoked = 0;
    const a: Consumer = log.consumer({
      groupId: "g-handover",
      autoOffsetReset: "earliest",
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 200,
      listener: {
        onPartitionsRevoked: async () => {
          revoked++;
          await a.commit();
        },
      },
    });
    await a.subscribe(["handover"]);
    expect(await consume(a, 40)).toBe(40);

    // b's join parks at the coordinator until a rejoins or leaves: the group is rebalancing
    // (a's heartbeats learn it) when a closes.
    const b = log.consumer({ groupId: "g-handover", autoOffsetReset: "earliest" });
    await b.subscribe(["handover"]);
    const bFirstPoll = b.poll({ maxWaitMs: 100 });
    await new Promise((r) => setTimeout(r, 1000));
    await Promise.all([a.close(), a.close()]);
    expect(revoked).toBe(1);
    const committed = await log.admin.fetchCommittedOffsets("g-handover");
    expect(committed.reduce((n, o) => n + o.offset, 0)).toBe(40);

    // b owns both partitions now and reads only what came after a's commit
    await log.producer().send("handover", values(5));
    const first = (await bFirstPoll).reduce((n, fp) => n + fp.records.length, 0);
    expect(first + (await consume(b, 5 - first))).toBe(5);
    expect(await consume(b, 1, 1000)).toBe(0);
    await b.close();
  });

  it("leaves the group even when the revoke listener throws, then throws the listener's error", async () => {
    await log.admin.createTopic("failing", { partitions: 1 });
    await log.producer().send("failing", values(3));
    let calls = 0;
    const c = log.consumer({
      groupId: "g-failing",
      autoOffsetReset: "earliest",
      listener: {
        onPartitionsRevoked: () => {
          calls++;
          throw new Error("listener broke");
        },
      },
    });
    await c.subscribe(["failing"]);
    expect(await consume(c, 3)).toBe(3);
    await c.commit();
    await expect(c.close()).rejects.toThrow("listener broke");
    await expect(c.close()).rejects.toThrow("listener broke");
    expect(calls).toBe(1);
    // Kafka refuses a reset while the group has members: this one goes through at once
    const plan = await log.admin.resetOffsets("g-failing", { to: "earliest" });
    expect(plan.length).toBe(1);
  });
});
