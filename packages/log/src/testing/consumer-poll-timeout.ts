import { expect } from "vitest";
import type { Consumer, LogClient } from "../client/log-client.js";
import type { TopicPartition } from "../record.js";

const PARTITIONS = 4;

/**
 * Kafka's max.poll.interval.ms, for any LogClient: a member whose application stops
 * calling poll keeps heartbeating (its timer runs on), so without a poll deadline the
 * group would keep its partitions for ever. It leaves by itself after maxPollIntervalMs:
 * its partitions move, its commit is refused, and its next poll reports them lost (not
 * revoked: nothing to commit) and rejoins. Run by the embedded log's and Kafka's tests.
 */
export async function stoppedPollerLeavesGroup(log: LogClient): Promise<void> {
  const polling = new Set<Consumer>();
  const loops = new Map<Consumer, Promise<void>>();
  const consumers: Consumer[] = [];
  try {
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
    consumers.push(stalled, other);
    await stalled.subscribe(["jobs"]);
    await other.subscribe(["jobs"]);

    // Each member polls in its own loop, as an application does (a join waits for the
    // other members to rejoin in their own polls).
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

    startPolling(stalled);
    startPolling(other);
    await waitUntil(
      () => stalled.assignment().length === 2 && other.assignment().length === 2,
      "both members with two partitions each",
    );
    const share = stalled.assignment();
    const before = await log.admin.describeGroup("g");

    // `stalled` stops polling; `other` goes on and is handed every partition.
    await stopPolling(stalled);
    const stopped = Date.now();
    await waitUntil(
      () => other.assignment().length === PARTITIONS,
      "the other member to own every partition",
    );
    expect(Date.now() - stopped).toBeGreaterThanOrEqual(1_500);
    const during = await log.admin.describeGroup("g");
    expect(during.members).toHaveLength(1);
    expect(during.members[0]!.assignment).toHaveLength(PARTITIONS);
    // (Kafka's DescribeGroups does not tell the generation: -1 there.)
    if (before.generation >= 0) expect(during.generation).toBeGreaterThan(before.generation);

    // Its commit of what it had would be refused: it is not a member any more.
    // (By name: the Kafka suite loads the log package twice, from src and from dist.)
    await expect(stalled.commit()).rejects.toMatchObject({
      name: "GroupError",
      code: expect.stringMatching(/^(UNKNOWN_MEMBER|ILLEGAL_GENERATION)$/),
    });

    // Polling again: the partitions are reported lost (not revoked: no commit for them),
    // and it rejoins, so the group spreads the partitions over both again.
    startPolling(stalled);
    await waitUntil(
      () => stalled.assignment().length === 2 && other.assignment().length === 2,
      "the stalled member back in the group with its share",
    );
    expect(lost).toHaveLength(1);
    expect(lost[0]!.map((tp) => tp.partition).sort()).toEqual(
      share.map((tp) => tp.partition).sort(),
    );
  } finally {
    polling.clear();
    await Promise.all(loops.values());
    for (const c of consumers) await c.close().catch(() => {});
  }
}

async function waitUntil(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
