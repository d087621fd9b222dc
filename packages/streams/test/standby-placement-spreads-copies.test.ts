import { assignorFor } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { placeStandbys } from "../src/runtime/standby-placement.js";

const stickyAssignor = assignorFor("sticky");
const TOPIC = "in";
const PARTITIONS = 12;
const counts = new Map([[TOPIC, PARTITIONS]]);
const tasks = Array.from({ length: PARTITIONS }, (_, p) => ({
  taskId: `0_${p}`,
  input: { topic: TOPIC, partition: p },
}));

/** A group of `n` members as the sticky assignor balances it from nothing. */
function group(n: number) {
  const ids = Array.from({ length: n }, (_, i) => `m${i}`);
  const plan = stickyAssignor.assign(
    ids.map((memberId) => ({ memberId, topics: [TOPIC], owned: [] })),
    counts,
  );
  return ids.map((memberId) => ({ memberId, assignment: plan.get(memberId)! }));
}

function ownerOf(members: ReturnType<typeof group>, p: number): string {
  return members.find((m) => m.assignment.some((tp) => tp.partition === p))!.memberId;
}

describe("standby placement", () => {
  it("gives each task its replicas on distinct other members, balanced", () => {
    const members = group(4);
    const plan = placeStandbys(members, [TOPIC], counts, "sticky", tasks, 2);
    for (const t of tasks) {
      const holders = [...plan].filter(([, ids]) => ids.includes(t.taskId)).map(([m]) => m);
      expect(holders).toHaveLength(2);
      expect(holders).not.toContain(ownerOf(members, t.input.partition));
    }
    const loads = [...plan.values()].map((ids) => ids.length);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
  });

  it("puts the first standby where the group moves the task when its owner leaves", () => {
    const members = group(3);
    const plan = placeStandbys(members, [TOPIC], counts, "sticky", tasks, 1);
    for (const leaving of members) {
      // the coordinator's rebalance without `leaving`: survivors keep what they own
      const after = stickyAssignor.assign(
        members
          .filter((m) => m !== leaving)
          .map((m) => ({ memberId: m.memberId, topics: [TOPIC], owned: m.assignment })),
        counts,
      );
      for (const tp of leaving.assignment) {
        const newOwner = [...after].find(([, a]) =>
          a.some((x) => x.partition === tp.partition),
        )![0];
        expect(plan.get(newOwner), `standby of 0_${tp.partition}`).toContain(`0_${tp.partition}`);
      }
    }
  });

  it("places nothing with one member or no replicas", () => {
    expect(
      [...placeStandbys(group(1), [TOPIC], counts, "sticky", tasks, 1).values()].flat(),
    ).toEqual([]);
    expect(
      [...placeStandbys(group(3), [TOPIC], counts, "sticky", tasks, 0).values()].flat(),
    ).toEqual([]);
  });
});
