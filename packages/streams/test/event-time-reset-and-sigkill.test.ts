import { Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import {
  clickReference,
  countSerde,
  diff,
  generateClicks,
  HISTORY,
  pageWindowKey,
  produceClicks,
  resetToEarliest,
  startClickWorkers,
  stopWorkers,
} from "./event-time-helpers.js";
import { type Backend, brokerBackend, readTopic } from "./runtime-helpers.js";
import { waitCaughtUp } from "./worker-windows-helpers.js";

async function output(log: Backend["log"], app: string): Promise<Map<string, number>> {
  return (await readTopic(log, `${app}-out`, pageWindowKey, countSerde)).table as Map<
    string,
    number
  >;
}

// Issue 11's proof beyond worker counts: the same hopping-window answer over repartitioned
// history after a reset and a rerun, and when a worker is SIGKILLed mid-way.
describe("event time over a repartition topic, across a reset and a crash", () => {
  it("reset --to-earliest and a rerun on 2 workers give the reference again", {
    timeout: 180_000,
  }, async () => {
    const backend = await brokerBackend();
    const { log } = backend;
    try {
      await log.admin.createTopic("clicks", { partitions: 3, config: HISTORY });
      await log.admin.createTopic("rerun-out", { partitions: 3, config: HISTORY });
      const clicks = generateClicks(25_000, 12);
      await produceClicks(log, clicks);
      const want = clickReference(clicks);
      const topics = ["clicks", "rerun-by-page-repartition"];
      for (const round of ["first run", "after reset"]) {
        const workers = await startClickWorkers(backend, "rerun", 2);
        try {
          await waitCaughtUp(log, "rerun", topics, 120_000);
        } finally {
          await stopWorkers(workers);
        }
        // the rerun rewrites every window: its last value per window is read
        expect(diff(await output(log, "rerun"), want), round).toBe(diff(want, want));
        await resetToEarliest(
          log,
          "rerun",
          workers.map((w) => w.stateDir),
        );
      }
    } finally {
      await backend.close();
    }
  });

  it("a worker SIGKILLed mid-way and replaced: every click is in each of its windows' emissions, none is invented", {
    timeout: 180_000,
  }, async () => {
    const backend = await brokerBackend();
    const { log } = backend;
    try {
      await log.admin.createTopic("clicks", { partitions: 3, config: HISTORY });
      await log.admin.createTopic("kill-out", { partitions: 3, config: HISTORY });
      const clicks = generateClicks(25_000, 13);
      await produceClicks(log, clicks);
      const env = { CLICKS_MODE: "ids" };
      const workers = await startClickWorkers(backend, "kill", 2, env);
      try {
        const victim = workers[0]!;
        await victim.proc.waitForLine((l) => l.includes('"event":"commit"'), "a commit");
        victim.proc.kill("SIGKILL");
        await victim.proc.exited;
        workers.shift();
        workers.push(...(await startClickWorkers(backend, "kill", 1, env)));
        await waitCaughtUp(log, "kill", ["clicks", "kill-by-page-repartition"], 120_000);
      } finally {
        await stopWorkers(workers);
      }
      // At-least-once: records after the last commit are processed again, so a window can
      // be emitted again (and, when the restored store had already expired it, with only
      // the replayed ids). What event time must guarantee is that no click was dropped as
      // late and none landed in a wrong window: the union of each window's emissions is
      // exactly its clicks.
      const { records } = await readTopic(log, "kill-out", pageWindowKey, Serdes.json<string[]>());
      const union = new Map<string, Set<string>>();
      for (const r of records) {
        const set = union.get(r.key) ?? new Set<string>();
        for (const id of r.value ?? []) set.add(id);
        union.set(r.key, set);
      }
      const sizes = new Map([...union].map(([k, set]) => [k, set.size]));
      const want = clickReference(clicks);
      expect(diff(sizes, want)).toBe(diff(want, want));
    } finally {
      await backend.close();
    }
  });
});
