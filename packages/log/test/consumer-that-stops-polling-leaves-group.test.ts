import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { openEmbeddedLog } from "../src/embedded-log.js";
import { GroupError } from "../src/errors.js";
import type { Consumer, LogClient } from "../src/log-client.js";
import type { TopicPartition } from "../src/record.js";
import { eventually } from "./broker-helpers.js";
import { tempDir } from "./registry-helpers.js";

// Kafka's max.poll.interval.ms: a member whose application stops calling poll keeps
// heartbeating (its timer runs on), so without a poll deadline the group would keep its
// partitions for ever. It leaves by itself; its next poll reports the partitions lost.

const PARTITIONS = 4;

describe("a consumer that stops polling", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("leaves its group after maxPollIntervalMs: its partitions move, and its next poll reports them lost and rejoins", async () => {
    const { dir, cleanup } = tempDir("max-poll-");
    cleanups.push(cleanup);
    const log: LogClient = await openEmbeddedLog(dir, { groupInitialRebalanceDelayMs: 50 });
    cleanups.push(() => log.close());
    await log.admin.createTopic("jobs", { partitions: PARTITIONS });

    const lost: TopicPartition[][] = [];
    const stalled = log.consumer({
      groupId: "g",
      clientId: "stalled",
      // The session is long and heartbeats go on: only the poll deadline can free its share.
      sessionTimeoutMs: 60_000,
      heartbeatIntervalMs: 100,
      maxPollIntervalMs: 1_500,
      listener: { onPartitionsLost: (tps) => void lost.push(tps) },
    });
    const other = log.consumer({ groupId: "g", clientId: "other", heartbeatIntervalMs: 100 });
    cleanups.push(() => stalled.close().catch(() => {}));
    cleanups.push(() => other.close());
    await stalled.subscribe(["jobs"]);
    await other.subscribe(["jobs"]);

    // Each member polls in its own loop, as an application does (a join waits for the
    // other members to rejoin in their own polls).
    const loops = new Map<Consumer, Promise<void>>();
    const polling = new Set<Consumer>();
    const startPolling = (c: Consumer) => {
      polling.add(c);
      loops.set(
        c,
        (async () => {
          while (polling.has(c)) await c.poll({ maxWaitMs: 20 });
        })(),
      );
    };
    const stopPolling = async (c: Consumer) => {
      polling.delete(c);
      await loops.get(c);
    };
    cleanups.push(async () => {
      for (const c of [...polling]) await stopPolling(c);
    });
    const waitFor = (done: () => boolean, what: string) =>
      eventually(() => (done() ? true : undefined), what, 30_000);

    startPolling(stalled);
    startPolling(other);
    await waitFor(
      () => stalled.assignment().length === 2 && other.assignment().length === 2,
      "both members with two partitions each",
    );
    const share = stalled.assignment();
    const before = await log.admin.describeGroup("g");

    // `stalled` stops polling; `other` goes on and is handed every partition.
    await stopPolling(stalled);
    const stopped = Date.now();
    await waitFor(
      () => other.assignment().length === PARTITIONS,
      "the other member to own every partition",
    );
    expect(Date.now() - stopped).toBeGreaterThanOrEqual(1_500);
    const during = await log.admin.describeGroup("g");
    expect(during.members.map((m) => m.clientId)).toEqual(["other"]);
    expect(during.generation).toBeGreaterThan(before.generation);

    // Its commit of what it had would be refused: it is not a member any more.
    await expect(stalled.commit()).rejects.toBeInstanceOf(GroupError);

    // Polling again: the partitions are reported lost (not revoked: no commit for them),
    // and it rejoins, so the group spreads the partitions over both again.
    startPolling(stalled);
    await waitFor(
      () => stalled.assignment().length === 2 && other.assignment().length === 2,
      "the stalled member back in the group with its share",
    );
    expect(lost).toHaveLength(1);
    expect(lost[0]!.map((tp) => tp.partition).sort()).toEqual(
      share.map((tp) => tp.partition).sort(),
    );
  });
});
