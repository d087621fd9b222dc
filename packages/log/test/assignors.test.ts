import { describe, expect, it } from "vitest";
import type { Assignor, AssignorMember } from "../src/groups/assignor.js";
import { assignorFor } from "../src/groups/assignor.js";
import { rangeAssignor } from "../src/groups/range-assignor.js";
import type { TopicPartition } from "../src/record.js";
import { stickyAssignor } from "../src/groups/sticky-assignor.js";
import { allPartitions, sortTps } from "./group-helpers.js";

const counts = (o: Record<string, number>) => new Map(Object.entries(o));
const member = (
  memberId: string,
  topics: string[],
  owned: TopicPartition[] = [],
): AssignorMember => ({
  memberId,
  topics,
  owned,
});
const names = (a: Map<string, TopicPartition[]>, id: string) => sortTps(a.get(id) ?? []);

/** Every partition of a subscribed topic goes to exactly one member that subscribes to it. */
function expectCompleteAndDisjoint(
  a: Map<string, TopicPartition[]>,
  members: readonly AssignorMember[],
  c: Record<string, number>,
): void {
  const seen: string[] = [];
  for (const m of members) {
    for (const tp of a.get(m.memberId)!) {
      expect(m.topics).toContain(tp.topic);
      seen.push(`${tp.topic}-${tp.partition}`);
    }
  }
  const subscribed = new Set(members.flatMap((m) => m.topics));
  const expected = allPartitions(
    Object.fromEntries(Object.entries(c).filter(([t]) => subscribed.has(t))),
  );
  expect(seen.sort()).toEqual(expected);
}

/** Small deterministic PRNG, so the randomized cases are the same on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("range assignor", () => {
  it("splits each topic into contiguous ranges over members sorted by id, extras first", () => {
    const members = [member("c", ["t"]), member("a", ["t"]), member("b", ["t"])];
    const a = rangeAssignor.assign(members, counts({ t: 7 }));
    expect(names(a, "a")).toEqual(["t-0", "t-1", "t-2"]);
    expect(names(a, "b")).toEqual(["t-3", "t-4"]);
    expect(names(a, "c")).toEqual(["t-5", "t-6"]);
  });

  it("gives co-partitioned topics the same partition numbers on the same member", () => {
    const members = [
      member("m2", ["left", "right"]),
      member("m1", ["right", "left"]),
      member("m3", ["left", "right"]),
    ];
    const a = rangeAssignor.assign(members, counts({ left: 8, right: 8 }));
    expectCompleteAndDisjoint(a, members, { left: 8, right: 8 });
    for (const m of members) {
      const tps = a.get(m.memberId)!;
      const left = tps.filter((tp) => tp.topic === "left").map((tp) => tp.partition);
      const right = tps.filter((tp) => tp.topic === "right").map((tp) => tp.partition);
      expect(left.length).toBeGreaterThan(0);
      expect(left).toEqual(right);
    }
  });

  it("assigns a topic only to its subscribers and leaves non-existent topics empty", () => {
    const members = [member("a", ["x"]), member("b", ["x", "y"]), member("c", ["y", "ghost"])];
    const a = rangeAssignor.assign(members, counts({ x: 3, y: 2 }));
    expectCompleteAndDisjoint(a, members, { x: 3, y: 2 });
    expect(names(a, "a")).toEqual(["x-0", "x-1"]);
    expect(names(a, "b")).toEqual(["x-2", "y-0"]);
    expect(names(a, "c")).toEqual(["y-1"]);
  });

  it("gives members beyond the partition count nothing", () => {
    const members = [member("a", ["t"]), member("b", ["t"]), member("c", ["t"])];
    const a = rangeAssignor.assign(members, counts({ t: 2 }));
    expect(names(a, "a")).toEqual(["t-0"]);
    expect(names(a, "b")).toEqual(["t-1"]);
    expect(a.get("c")).toEqual([]);
  });
});

describe("sticky assignor", () => {
  it("balances a fresh group to counts that differ by at most one", () => {
    const members = ["a", "b", "c", "d"].map((id) => member(id, ["t", "u"]));
    const a = stickyAssignor.assign(members, counts({ t: 7, u: 6 }));
    expectCompleteAndDisjoint(a, members, { t: 7, u: 6 });
    const sizes = members.map((m) => a.get(m.memberId)!.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it("moves only the departed member's partitions when a member leaves", () => {
    const ids = ["a", "b", "c", "d"];
    const c = { t: 12, u: 5 };
    const first = stickyAssignor.assign(
      ids.map((id) => member(id, ["t", "u"])),
      counts(c),
    );
    const remaining = ["a", "b", "d"].map((id) => member(id, ["t", "u"], first.get(id)!));
    const second = stickyAssignor.assign(remaining, counts(c));
    expectCompleteAndDisjoint(second, remaining, c);
    for (const id of ["a", "b", "d"]) {
      for (const tp of names(first, id)) expect(names(second, id)).toContain(tp);
    }
    const sizes = remaining.map((m) => second.get(m.memberId)!.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it("moves only about 1/n of the partitions to a member that joins", () => {
    const c = { t: 60 };
    const ids = ["a", "b", "c", "d"];
    const first = stickyAssignor.assign(
      ids.map((id) => member(id, ["t"])),
      counts(c),
    );
    const next = [...ids.map((id) => member(id, ["t"], first.get(id)!)), member("e", ["t"])];
    const second = stickyAssignor.assign(next, counts(c));
    expectCompleteAndDisjoint(second, next, c);
    let moved = 0;
    for (const id of ids) {
      const kept = new Set(names(second, id));
      moved += names(first, id).filter((tp) => !kept.has(tp)).length;
    }
    expect(moved).toBe(12);
    expect(second.get("e")!.length).toBe(12);
    for (const id of ids) expect(second.get(id)!.length).toBe(12);
  });

  it("drops owned partitions that no longer exist, are unsubscribed, or are claimed twice", () => {
    const members = [
      member(
        "a",
        ["t"],
        [
          { topic: "t", partition: 0 },
          { topic: "t", partition: 9 },
          { topic: "gone", partition: 0 },
        ],
      ),
      member(
        "b",
        ["t"],
        [
          { topic: "t", partition: 0 },
          { topic: "t", partition: 1 },
        ],
      ),
    ];
    const a = stickyAssignor.assign(members, counts({ t: 4, gone: 1 }));
    expectCompleteAndDisjoint(a, members, { t: 4 });
    expect(names(a, "a")).toContain("t-0");
    expect(names(a, "b")).toContain("t-1");
  });

  it("with different subscriptions gives each topic only to its subscribers, balanced where they can trade", () => {
    const members = [
      member("a", ["x"]),
      member("b", ["x", "y"]),
      member("c", ["y"]),
      member("d", ["x", "y"]),
    ];
    const c = { x: 9, y: 3 };
    const a = stickyAssignor.assign(members, counts(c));
    expectCompleteAndDisjoint(a, members, c);
    const sizes = members.map((m) => a.get(m.memberId)!.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });
});

describe.each([
  ["range", rangeAssignor],
  ["sticky", stickyAssignor],
] as [string, Assignor][])("%s assignor properties", (name, assignor) => {
  it("is found by name", () => {
    expect(assignorFor(name as "range" | "sticky")).toBe(assignor);
  });

  it("is complete, disjoint and independent of member order over random groups", () => {
    const rand = prng(name.length * 7919);
    for (let round = 0; round < 200; round++) {
      const topics = ["t0", "t1", "t2"];
      const c: Record<string, number> = {};
      for (const t of topics) c[t] = Math.floor(rand() * 12);
      const n = 1 + Math.floor(rand() * 6);
      const members: AssignorMember[] = [];
      for (let i = 0; i < n; i++) {
        const subs = topics.filter(() => rand() < 0.6);
        const owned: TopicPartition[] = [];
        for (let k = Math.floor(rand() * 4); k > 0; k--) {
          owned.push({
            topic: topics[Math.floor(rand() * 3)]!,
            partition: Math.floor(rand() * 14),
          });
        }
        members.push(
          member(`m${Math.floor(rand() * 1000)}-${i}`, subs.length > 0 ? subs : ["t0"], owned),
        );
      }
      const a = assignor.assign(members, counts(c));
      expectCompleteAndDisjoint(a, members, c);
      const b = assignor.assign([...members].reverse(), counts(c));
      expect([...b.entries()].sort()).toEqual([...a.entries()].sort());
      if (members.every((m) => m.topics.join() === members[0]!.topics.join())) {
        const sizes = members.map((m) => a.get(m.memberId)!.length);
        const total = sizes.reduce((x, y) => x + y, 0);
        if (name === "sticky")
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        else expect(total).toBe(members[0]!.topics.reduce((s, t) => s + c[t]!, 0));
      }
    }
  });
});
