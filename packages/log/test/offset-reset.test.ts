import { afterEach, describe, expect, it } from "vitest";
import { GroupError, InvalidArgumentError, UnknownTopicError } from "../src/errors.js";
import { GroupCoordinator } from "../src/groups/group-coordinator.js";
import type { OffsetResetSpec } from "../src/client/log-client.js";
import { ArrayOffsetJournal, InMemoryPartitionOffsets, TestMember } from "./group-helpers.js";

const NOW = 1_700_000_000_000;
const open: GroupCoordinator[] = [];

/**
 * "orders": p0 holds offsets 10..19 with timestamps NOW-10000, NOW-9000, …, NOW-1000;
 *           p1 holds offsets 0..4 with timestamps NOW-5000 … NOW-1000.
 * "audit":  one empty partition. The group "g" committed orders-0 at 15, orders-1 at 2.
 */
async function setup() {
  const log = new InMemoryPartitionOffsets()
    .set("orders", [
      { logStart: 10, timestamps: Array.from({ length: 10 }, (_, i) => NOW - 10_000 + i * 1000) },
      { logStart: 0, timestamps: Array.from({ length: 5 }, (_, i) => NOW - 5000 + i * 1000) },
    ])
    .empty("audit", 1);
  const journal = new ArrayOffsetJournal();
  const c = new GroupCoordinator({
    journal,
    offsets: log,
    now: () => NOW,
    initialRebalanceDelayMs: 0,
  });
  open.push(c);
  await c.commitOffsets({
    groupId: "g",
    memberId: "",
    generation: -1,
    offsets: [
      { topic: "orders", partition: 0, offset: 15 },
      { topic: "orders", partition: 1, offset: 2 },
    ],
  });
  return { c, log, journal };
}

afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});

async function reset(spec: OffsetResetSpec, topics?: string[]) {
  const { c } = await setup();
  const plan = await c.resetOffsets("g", spec, topics === undefined ? {} : { topics });
  const after = await c.fetchOffsets("g");
  return {
    plan: plan.map((r) => [r.topic, r.partition, r.from, r.to]),
    after: after.map((o) => o.offset),
  };
}

describe("offset reset", () => {
  it("to earliest moves every partition to its log start", async () => {
    expect(await reset({ to: "earliest" })).toEqual({
      plan: [
        ["orders", 0, 15, 10],
        ["orders", 1, 2, 0],
      ],
      after: [10, 0],
    });
  });

  it("to latest moves every partition to its log end", async () => {
    expect(await reset({ to: "latest" })).toEqual({
      plan: [
        ["orders", 0, 15, 20],
        ["orders", 1, 2, 5],
      ],
      after: [20, 5],
    });
  });

  it("to an offset clamps it into each partition's range", async () => {
    expect((await reset({ to: "offset", offset: 12 })).plan).toEqual([
      ["orders", 0, 15, 12],
      ["orders", 1, 2, 5],
    ]);
    expect((await reset({ to: "offset", offset: 0 })).plan).toEqual([
      ["orders", 0, 15, 10],
      ["orders", 1, 2, 0],
    ]);
  });

  it("to a timestamp finds the first record at or after it, or the log end when none is that new", async () => {
    expect((await reset({ to: "timestamp", timestamp: NOW - 4500 })).plan).toEqual([
      ["orders", 0, 15, 16],
      ["orders", 1, 2, 1],
    ]);
    expect((await reset({ to: "timestamp", timestamp: 0 })).plan).toEqual([
      ["orders", 0, 15, 10],
      ["orders", 1, 2, 0],
    ]);
    expect((await reset({ to: "timestamp", timestamp: NOW + 1 })).after).toEqual([20, 5]);
  });

  it("by duration looks back from now", async () => {
    expect(await reset({ to: "duration", ms: 3000 })).toEqual({
      plan: [
        ["orders", 0, 15, 17],
        ["orders", 1, 2, 2],
      ],
      after: [17, 2],
    });
  });

  it("shifts committed offsets, clamped, and skips partitions with nothing committed", async () => {
    expect((await reset({ to: "shift", by: -3 })).plan).toEqual([
      ["orders", 0, 15, 12],
      ["orders", 1, 2, 0],
    ]);
    expect((await reset({ to: "shift", by: 4 })).plan).toEqual([
      ["orders", 0, 15, 19],
      ["orders", 1, 2, 5],
    ]);
    expect((await reset({ to: "shift", by: 1 }, ["orders", "audit"])).plan).toEqual([
      ["orders", 0, 15, 16],
      ["orders", 1, 2, 3],
    ]);
  });

  it("covers named topics, including ones the group never committed for", async () => {
    expect(await reset({ to: "earliest" }, ["audit"])).toEqual({
      plan: [["audit", 0, null, 0]],
      after: [0, 15, 2],
    });
  });

  it("changes nothing on a dry run", async () => {
    const { c, journal } = await setup();
    const writes = journal.records.length;
    const plan = await c.resetOffsets("g", { to: "earliest" }, { dryRun: true });
    expect(plan).toEqual([
      { topic: "orders", partition: 0, from: 15, to: 10 },
      { topic: "orders", partition: 1, from: 2, to: 0 },
    ]);
    expect(journal.records.length).toBe(writes);
    expect((await c.fetchOffsets("g")).map((o) => o.offset)).toEqual([15, 2]);
  });

  it("refuses while the group has live members", async () => {
    const { c } = await setup();
    const m = new TestMember(c, "g", { topics: ["orders"], sessionTimeoutMs: 30_000 });
    await m.join();
    const err = await c.resetOffsets("g", { to: "earliest" }, {}).catch((e) => e);
    expect(err).toBeInstanceOf(GroupError);
    expect(err.code).toBe("GROUP_NOT_EMPTY");
    expect((await c.fetchOffsets("g")).map((o) => o.offset)).toEqual([15, 2]);
    await m.leave();
    expect((await c.resetOffsets("g", { to: "latest" }, {})).map((r) => r.to)).toEqual([20, 5]);
  });

  it("refuses unknown topics and malformed specs", async () => {
    const { c } = await setup();
    await expect(
      c.resetOffsets("g", { to: "earliest" }, { topics: ["nope"] }),
    ).rejects.toBeInstanceOf(UnknownTopicError);
    for (const spec of [
      { to: "offset", offset: -1 },
      { to: "duration", ms: 1.5 },
      { to: "shift", by: Number.NaN },
      { to: "sideways" },
    ] as OffsetResetSpec[]) {
      await expect(c.resetOffsets("g", spec, {})).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect((await c.fetchOffsets("g")).map((o) => o.offset)).toEqual([15, 2]);
  });
});
