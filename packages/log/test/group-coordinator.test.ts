import { afterEach, describe, expect, it } from "vitest";
import { ClosedError, GroupError, InvalidArgumentError, InvalidNameError } from "../src/errors.js";
import { GroupCoordinator, validateGroupId } from "../src/groups/group-coordinator.js";
import type { GroupCoordinatorOptions } from "../src/groups/group-coordinator.js";
import {
  ArrayOffsetJournal,
  InMemoryPartitionOffsets,
  TestMember,
  allPartitions,
  sortTps,
  until,
} from "./group-helpers.js";

const open: GroupCoordinator[] = [];
const members: TestMember[] = [];

function coordinator(options: Partial<GroupCoordinatorOptions> = {}) {
  const journal = options.journal ?? new ArrayOffsetJournal();
  const log =
    (options.offsets as InMemoryPartitionOffsets) ?? new InMemoryPartitionOffsets().empty("t", 6);
  const c = new GroupCoordinator({
    initialRebalanceDelayMs: 100,
    ...options,
    journal,
    offsets: log,
  });
  open.push(c);
  return { c, journal: journal as ArrayOffsetJournal, log };
}

function newMember(
  c: GroupCoordinator,
  groupId: string,
  options: Partial<ConstructorParameters<typeof TestMember>[2]> = {},
) {
  // Long sessions unless a test is about expiry, so a slow machine cannot expire them.
  const m = new TestMember(c, groupId, { topics: ["t"], sessionTimeoutMs: 10_000, ...options });
  members.push(m);
  return m;
}

afterEach(async () => {
  for (const m of members.splice(0)) m.stop();
  for (const c of open.splice(0)) await c.close();
});

function expectPartitionOf(all: TestMember[], counts: Record<string, number>) {
  expect(all.flatMap((m) => sortTps(m.assignment)).sort()).toEqual(allPartitions(counts));
}

describe("group coordinator", () => {
  it("puts three members that join together into one generation with a disjoint, complete assignment", async () => {
    const { c } = coordinator();
    const ms = [0, 1, 2].map((i) => newMember(c, "g", { clientId: `w${i}` }));
    const responses = await Promise.all(ms.map((m) => m.join()));
    expect(new Set(responses.map((r) => r.generation)).size).toBe(1);
    expect(new Set(responses.map((r) => r.memberId)).size).toBe(3);
    for (const r of responses) expect(r.assignment.length).toBe(2);
    expectPartitionOf(ms, { t: 6 });
    const d = await c.describeGroup("g");
    expect(d.state).toBe("Stable");
    expect(d.generation).toBe(responses[0]!.generation);
  });

  it("removes a member that stops heartbeating after its session timeout and moves its partitions", async () => {
    const { c } = coordinator();
    const [a, b, z] = [
      newMember(c, "g"),
      newMember(c, "g"),
      newMember(c, "g", { sessionTimeoutMs: 400 }),
    ];
    await Promise.all([a!.start(), b!.start(), z!.start()]);
    const before = a!.generation;
    const lost = sortTps(z!.assignment);
    expect(lost.length).toBe(2);
    z!.stop();
    await until(
      () => a!.generation > before && b!.generation === a!.generation,
      "survivors to rejoin",
    );
    expectPartitionOf([a!, b!], { t: 6 });
    const d = await c.describeGroup("g");
    expect(d.members.map((m) => m.memberId).sort()).toEqual([a!.memberId, b!.memberId].sort());
    await expect(
      c.heartbeat({ groupId: "g", memberId: z!.memberId, generation: z!.generation }),
    ).rejects.toMatchObject({ code: "UNKNOWN_MEMBER" });
  });

  it("rebalances at once when a member leaves", async () => {
    const { c } = coordinator();
    const a = newMember(c, "g", { sessionTimeoutMs: 30_000 });
    const b = newMember(c, "g", { sessionTimeoutMs: 30_000 });
    await Promise.all([a.start(), b.start()]);
    const gen = a.generation;
    await b.leave();
    await until(() => a.generation > gen, "the remaining member to rejoin");
    expect(sortTps(a.assignment)).toEqual(allPartitions({ t: 6 }));
    await c.leaveGroup({ groupId: "g", memberId: b.memberId }); // leaving twice is harmless
  });

  it("refuses a commit from an old generation or an unknown member and keeps the committed offset", async () => {
    const { c } = coordinator();
    const a = newMember(c, "g");
    await a.start();
    const old = { memberId: a.memberId, generation: a.generation };
    await c.commitOffsets({
      groupId: "g",
      ...old,
      offsets: [{ topic: "t", partition: 0, offset: 10 }],
    });

    const b = newMember(c, "g");
    await b.start();
    await until(() => a.generation === b.generation, "both in the new generation");
    expect(a.generation).toBeGreaterThan(old.generation);

    const zombie = c.commitOffsets({
      groupId: "g",
      ...old,
      offsets: [{ topic: "t", partition: 0, offset: 99 }],
    });
    await expect(zombie).rejects.toBeInstanceOf(GroupError);
    await expect(
      c.commitOffsets({
        groupId: "g",
        ...old,
        offsets: [{ topic: "t", partition: 0, offset: 99 }],
      }),
    ).rejects.toMatchObject({ code: "ILLEGAL_GENERATION" });
    await expect(
      c.commitOffsets({
        groupId: "g",
        memberId: "nobody",
        generation: a.generation,
        offsets: [{ topic: "t", partition: 0, offset: 99 }],
      }),
    ).rejects.toMatchObject({ code: "UNKNOWN_MEMBER" });
    await expect(
      c.commitOffsets({
        groupId: "g",
        memberId: "",
        generation: -1,
        offsets: [{ topic: "t", partition: 0, offset: 99 }],
      }),
    ).rejects.toMatchObject({ code: "UNKNOWN_MEMBER" });
    expect(await c.fetchOffsets("g")).toEqual([{ topic: "t", partition: 0, offset: 10 }]);

    await c.commitOffsets({
      groupId: "g",
      memberId: a.memberId,
      generation: a.generation,
      offsets: [{ topic: "t", partition: 0, offset: 11 }],
    });
    expect(await c.fetchOffsets("g", ["t"])).toEqual([{ topic: "t", partition: 0, offset: 11 }]);
  });

  it("answers a heartbeat with a stale generation with rebalance, and a rejoin returns the current assignment", async () => {
    const { c } = coordinator();
    const a = newMember(c, "g");
    await a.join();
    expect(
      await c.heartbeat({ groupId: "g", memberId: a.memberId, generation: a.generation }),
    ).toEqual({ rebalance: false });
    expect(
      await c.heartbeat({ groupId: "g", memberId: a.memberId, generation: a.generation - 1 }),
    ).toEqual({ rebalance: true });
    const gen = a.generation;
    const r = await a.join();
    expect(r.generation).toBe(gen);
    expect(sortTps(r.assignment)).toEqual(allPartitions({ t: 6 }));
  });

  it("removes a member that keeps heartbeating but does not rejoin within the rebalance timeout", async () => {
    const { c } = coordinator();
    const a = newMember(c, "g", { rebalanceTimeoutMs: 400, sessionTimeoutMs: 30_000 });
    await a.join();
    const stuck = setInterval(() => {
      // heartbeats but never rejoins, as a consumer stuck in processing would
      void c
        .heartbeat({ groupId: "g", memberId: a.memberId, generation: a.generation })
        .catch(() => {});
    }, 50);
    try {
      const b = newMember(c, "g", { rebalanceTimeoutMs: 400, sessionTimeoutMs: 30_000 });
      const r = await b.join();
      expect(sortTps(r.assignment)).toEqual(allPartitions({ t: 6 }));
      expect(r.generation).toBe(a.generation + 1);
      await expect(
        c.heartbeat({ groupId: "g", memberId: a.memberId, generation: a.generation }),
      ).rejects.toMatchObject({ code: "UNKNOWN_MEMBER" });
    } finally {
      clearInterval(stuck);
    }
  });

  it("rebalances when a subscribed topic gains partitions or comes into existence", async () => {
    const log = new InMemoryPartitionOffsets().empty("t", 2);
    const { c } = coordinator({ offsets: log });
    const a = newMember(c, "g", { topics: ["t", "later"] });
    const b = newMember(c, "g", { topics: ["t", "later"] });
    await Promise.all([a.start(), b.start()]);
    expectPartitionOf([a, b], { t: 2 });
    const gen = a.generation;
    log.empty("later", 4);
    await until(
      () => a.generation > gen && b.generation === a.generation,
      "a rebalance for the new topic",
    );
    expectPartitionOf([a, b], { t: 2, later: 4 });
  });

  it("keeps committed offsets across a restart over the same journal", async () => {
    const { c, journal, log } = coordinator();
    const a = newMember(c, "g");
    await a.join();
    await c.commitOffsets({
      groupId: "g",
      memberId: a.memberId,
      generation: a.generation,
      offsets: [
        { topic: "t", partition: 0, offset: 3, metadata: "m" },
        { topic: "t", partition: 4, offset: 8 },
      ],
    });
    await c.close();
    await expect(a.join()).rejects.toBeInstanceOf(ClosedError);

    const { c: c2 } = coordinator({ journal, offsets: log });
    expect(await c2.fetchOffsets("g")).toEqual([
      { topic: "t", partition: 0, offset: 3, metadata: "m" },
      { topic: "t", partition: 4, offset: 8 },
    ]);
    expect(await c2.listGroups()).toEqual([{ groupId: "g", state: "Empty", members: 0 }]);
    // The old member is unknown to the new coordinator: fenced, and told to rejoin.
    await expect(
      c2.commitOffsets({
        groupId: "g",
        memberId: a.memberId,
        generation: a.generation,
        offsets: [{ topic: "t", partition: 0, offset: 50 }],
      }),
    ).rejects.toMatchObject({ code: "UNKNOWN_MEMBER" });
    const r = await c2.joinGroup({ ...a.request(), memberId: a.memberId });
    expect(r.memberId).not.toBe(a.memberId);
  });

  it("describes and lists groups with members, assignments, offsets and lag", async () => {
    const log = new InMemoryPartitionOffsets().set("t", [
      { logStart: 0, timestamps: [1, 2, 3, 4, 5] },
      { logStart: 2, timestamps: [1, 2] },
    ]);
    const { c } = coordinator({ offsets: log });
    const a = newMember(c, "g", { clientId: "worker-a", assignor: "sticky" });
    await a.join();
    await c.commitOffsets({
      groupId: "g",
      memberId: a.memberId,
      generation: a.generation,
      offsets: [
        { topic: "t", partition: 0, offset: 2 },
        { topic: "t", partition: 1, offset: 4 },
        { topic: "deleted", partition: 0, offset: 1 },
      ],
    });
    await c.commitOffsets({
      groupId: "idle",
      memberId: "",
      generation: -1,
      offsets: [{ topic: "t", partition: 0, offset: 5 }],
    });

    expect(await c.describeGroup("g")).toEqual({
      groupId: "g",
      state: "Stable",
      generation: a.generation,
      assignor: "sticky",
      members: [
        {
          memberId: a.memberId,
          clientId: "worker-a",
          assignment: [
            { topic: "t", partition: 0 },
            { topic: "t", partition: 1 },
          ],
        },
      ],
      offsets: [
        { topic: "t", partition: 0, offset: 2, logEndOffset: 5, lag: 3 },
        { topic: "t", partition: 1, offset: 4, logEndOffset: 4, lag: 0 },
      ],
    });
    expect(await c.describeGroup("idle")).toMatchObject({
      state: "Empty",
      members: [],
      offsets: [{ lag: 0 }],
    });
    expect(await c.describeGroup("nobody")).toEqual({
      groupId: "nobody",
      state: "Dead",
      generation: 0,
      assignor: null,
      members: [],
      offsets: [],
    });
    expect(await c.listGroups()).toEqual([
      { groupId: "g", state: "Stable", members: 1 },
      { groupId: "idle", state: "Empty", members: 0 },
    ]);
  });

  it("deletes a group only when it is empty, and forgets its offsets", async () => {
    const { c, journal, log } = coordinator();
    const a = newMember(c, "g", { sessionTimeoutMs: 30_000 });
    await a.join();
    await c.commitOffsets({
      groupId: "g",
      memberId: a.memberId,
      generation: a.generation,
      offsets: [{ topic: "t", partition: 1, offset: 7 }],
    });
    await expect(c.deleteGroup("g")).rejects.toMatchObject({ code: "GROUP_NOT_EMPTY" });
    await a.leave();
    expect((await c.describeGroup("g")).state).toBe("Empty");
    await c.deleteGroup("g");
    expect(await c.fetchOffsets("g")).toEqual([]);
    expect(await c.listGroups()).toEqual([]);
    expect(journal.records.at(-1)!.value).toBeNull();
    await expect(c.deleteGroup("g")).rejects.toBeInstanceOf(InvalidArgumentError);
    const { c: c2 } = coordinator({ journal, offsets: log });
    expect(await c2.listGroups()).toEqual([]);
  });

  it("with the sticky assignor keeps what members hold and ignores a newcomer's claim on them", async () => {
    const { c } = coordinator();
    const a = newMember(c, "g", { assignor: "sticky", sessionTimeoutMs: 30_000 });
    const b = newMember(c, "g", { assignor: "sticky", sessionTimeoutMs: 30_000 });
    await Promise.all([a.start(), b.start()]);
    const before = { a: sortTps(a.assignment), b: sortTps(b.assignment) };
    expect(before.a.length).toBe(3);
    const gen = a.generation;
    // The newcomer claims a's partitions; a's hold, known to the coordinator, wins.
    const n = newMember(c, "g", { assignor: "sticky", sessionTimeoutMs: 30_000 });
    n.assignment = a.assignment.slice();
    await n.start();
    await until(() => a.generation > gen && b.generation === a.generation, "a and b to rejoin");
    expectPartitionOf([a, b, n], { t: 6 });
    for (const m of [a, b, n]) expect(m.assignment.length).toBe(2);
    for (const tp of sortTps(a.assignment)) expect(before.a).toContain(tp);
    for (const tp of sortTps(b.assignment)) expect(before.b).toContain(tp);
  });

  it("refuses joins that break the rules, naming the rule", async () => {
    const { c } = coordinator();
    const base = newMember(c, "g").request();
    await expect(c.joinGroup({ ...base, groupId: "" })).rejects.toBeInstanceOf(InvalidNameError);
    await expect(c.joinGroup({ ...base, topics: [] })).rejects.toThrow(/at least one topic/);
    await expect(c.joinGroup({ ...base, sessionTimeoutMs: 0 })).rejects.toThrow(
      /sessionTimeoutMs=0/,
    );
    await expect(c.joinGroup({ ...base, assignor: "round-robin" as never })).rejects.toThrow(
      /unknown assignor/,
    );
    await c.joinGroup(base);
    await expect(c.joinGroup({ ...base, assignor: "sticky" })).rejects.toThrow(/same assignor/);
  });

  it("validates group ids: non-empty, at most 249 characters, no control characters", () => {
    expect(() => validateGroupId("app-1.orders_v2 ünïcode")).not.toThrow();
    expect(() => validateGroupId("x".repeat(249))).not.toThrow();
    for (const bad of ["", "x".repeat(250), "a\nb", "tab\there", "nul\0", "del\x7f", "c1\x85"]) {
      expect(() => validateGroupId(bad)).toThrow(InvalidNameError);
    }
    try {
      validateGroupId("a\nb");
    } catch (err) {
      expect((err as InvalidNameError).code).toBe("INVALID_GROUP_NAME");
      expect((err as Error).message).toMatch(/control character \\x0a at position 1/);
    }
  });

  it("fails waiting joins with ClosedError on close", async () => {
    const { c } = coordinator({ initialRebalanceDelayMs: 10_000 });
    const pending = newMember(c, "g", { rebalanceTimeoutMs: 20_000 }).join();
    await c.close();
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    // retriable: a member waiting when its broker stops rejoins once the broker is back
    await expect(pending).rejects.toMatchObject({ retriable: true });
    await expect(c.listGroups()).rejects.toBeInstanceOf(ClosedError);
  });
});
