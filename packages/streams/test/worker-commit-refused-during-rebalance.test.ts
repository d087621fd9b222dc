import { type Consumer, GroupError, type LogClient, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { runWorker } from "../src/index.js";
import idsApp from "./fixtures/id-collector-app.js";
import { brokerPerFile, eventually, produce, waitForTable } from "./runtime-helpers.js";

// The worker runs in this process over a real broker process (RocksDB stores in a temp
// dir); its group consumer's first commits are refused with REBALANCE_IN_PROGRESS, as a
// coordinator answers a member whose group is completing a rebalance.

const str = Serdes.string();
const ids = Serdes.json<string[]>();
const broker = brokerPerFile("rip");

/** `log` whose group consumers refuse their first `times` commits as the coordinator
 * does while a rebalance completes; everything else is the real client. */
function refusingCommits(
  log: LogClient,
  times: number,
): { client: LogClient; refused: () => number } {
  let refused = 0;
  const wrap = (c: Consumer): Consumer =>
    new Proxy(c, {
      get(target, prop) {
        if (prop === "commit") {
          return async (offsets?: Parameters<Consumer["commit"]>[0]) => {
            if (refused < times) {
              refused++;
              throw new GroupError(
                "REBALANCE_IN_PROGRESS",
                "group 'ids-app' is completing a rebalance (injected)",
              );
            }
            return target.commit(offsets);
          };
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  const client = new Proxy(log, {
    get(target, prop) {
      if (prop === "consumer") {
        return (options: Parameters<LogClient["consumer"]>[0]) => {
          const c = target.consumer(options);
          return options?.groupId === undefined ? c : wrap(c);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { client, refused: () => refused };
}

describe("a commit refused while the group completes a rebalance", () => {
  it("is carried by the next commit: the worker goes on and processes nothing twice", async () => {
    const { log, root } = broker;
    await log.admin.createTopic("events", { partitions: 2 });
    await log.admin.createTopic("seen-ids-out", { partitions: 2 });
    const { client, refused } = refusingCommits(log, 3);
    const warnings: string[] = [];
    const worker = runWorker(idsApp, {
      log: client,
      stateDir: `${root}/state`,
      commitIntervalMs: 100,
      warn: (m) => warnings.push(m),
    });
    await worker.start();
    try {
      const expected = new Map<string, string[]>();
      const batch = (from: number, n: number) =>
        Array.from({ length: n }, (_, i) => {
          const key = `k${(from + i) % 20}`;
          const id = `e${from + i}`;
          expected.set(key, [...(expected.get(key) ?? []), id]);
          return { key: Buffer.from(key), value: Buffer.from(id) };
        });
      // in rounds, so several commits (the refused ones among them) fall between them
      for (let r = 0; r < 5; r++) {
        await produce(log, "events", batch(r * 400, 400));
        const want = new Map(expected);
        await waitForTable(
          log,
          "seen-ids-out",
          str,
          ids,
          (t) => [...want].every(([k, v]) => (t.get(k)?.length ?? 0) >= v.length),
          `round ${r} aggregated`,
        );
      }
      expect(refused()).toBe(3);
      expect(worker.metrics().state).toBe("running");
      expect(warnings.filter((w) => w.includes("commit deferred"))).toHaveLength(3);
      // the offsets reach the log end: what the refused commits left out was committed later
      const ends = await log.admin.listOffsets("events", "latest");
      await eventually(async () => {
        const now = await log.admin.fetchCommittedOffsets("ids-app", ["events"]);
        const atEnd = ends.every(
          (e) => now.find((c) => c.partition === e.partition)?.offset === e.offset,
        );
        return atEnd ? true : undefined;
      }, "committed offsets at the log end");
      // no id processed twice, none lost
      const table = await waitForTable(log, "seen-ids-out", str, ids, () => true, "final");
      for (const [k, v] of expected) expect(table.get(k), k).toEqual(v);
    } finally {
      await worker.stop();
    }
  }, 300_000); // a hang guard (loaded machines)
});
