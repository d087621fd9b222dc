import { afterEach, describe, expect, it } from "vitest";
import type { JoinGroupRequest } from "../src/client/log-service.js";
import { GroupCoordinator } from "../src/groups/group-coordinator.js";
import {
  ArrayOffsetJournal,
  InMemoryPartitionOffsets,
  allPartitions,
  sortTps,
} from "./group-helpers.js";

const open: GroupCoordinator[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});

function coordinator() {
  const c = new GroupCoordinator({
    initialRebalanceDelayMs: 0,
    journal: new ArrayOffsetJournal(),
    offsets: new InMemoryPartitionOffsets().empty("t", 6),
  });
  open.push(c);
  return c;
}

function join(memberId: string, instance?: string): JoinGroupRequest {
  return {
    groupId: "g",
    memberId,
    clientId: instance ?? "dynamic",
    topics: ["t"],
    sessionTimeoutMs: 60_000,
    rebalanceTimeoutMs: 60_000,
    assignor: "range",
    owned: [],
    ...(instance === undefined ? {} : { groupInstanceId: instance }),
  };
}

describe("static membership", () => {
  it("a process restarted during a rebalance takes its predecessor's slot; the old member id is fenced", async () => {
    const c = coordinator();
    const [a, b] = await Promise.all([c.joinGroup(join("", "a")), c.joinGroup(join("", "b"))]);
    expect(a.generation).toBe(b.generation);

    // A third, dynamic member starts a rebalance that waits for a and b to rejoin; b does,
    // a's process was killed and its replacement (same instance id) joins instead.
    const third = c.joinGroup(join(""));
    const bAgain = c.joinGroup(join(b.memberId, "b"));
    const a2 = await c.joinGroup(join("", "a"));
    const [t, b2] = await Promise.all([third, bAgain]);
    expect(a2.memberId).not.toBe(a.memberId);
    expect(new Set([a2.generation, b2.generation, t.generation]).size).toBe(1);
    expect(sortTps([...a2.assignment, ...b2.assignment, ...t.assignment])).toEqual(
      allPartitions({ t: 6 }),
    );
    const d = await c.describeGroup("g");
    expect(d.members).toHaveLength(3);

    // The replaced member id: heartbeats, commits and joins are refused with a code that
    // tells the old process to stop (not UNKNOWN_MEMBER, on which it would rejoin).
    const fenced = { code: "FENCED_INSTANCE_ID" };
    await expect(
      c.heartbeat({ groupId: "g", memberId: a.memberId, generation: a.generation }),
    ).rejects.toMatchObject(fenced);
    await expect(
      c.commitOffsets({
        groupId: "g",
        memberId: a.memberId,
        generation: a2.generation,
        offsets: [],
      }),
    ).rejects.toMatchObject(fenced);
    await expect(c.joinGroup(join(a.memberId, "a"))).rejects.toMatchObject(fenced);
  });

  it("in a stable group the replacement gets the same partitions in the same generation, without a rebalance", async () => {
    const c = coordinator();
    const [a, b] = await Promise.all([c.joinGroup(join("", "a")), c.joinGroup(join("", "b"))]);
    const a2 = await c.joinGroup(join("", "a"));
    expect(a2.generation).toBe(a.generation);
    expect(sortTps(a2.assignment)).toEqual(sortTps(a.assignment));
    // b is not asked to rejoin.
    expect(
      await c.heartbeat({ groupId: "g", memberId: b.memberId, generation: b.generation }),
    ).toEqual({
      rebalance: false,
    });
  });

  it("refuses an empty or over-long instance id, naming it", async () => {
    const c = coordinator();
    await expect(c.joinGroup(join("", ""))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(c.joinGroup(join("", "x".repeat(250)))).rejects.toThrow(/group instance id/);
  });
});
