import path from "node:path";
import { Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { defineApp, runWorker } from "../src/index.js";
import { brokerPerFile, eventually, produce, readTopic } from "./runtime-helpers.js";

// An exactly-once worker that the group drops while it works (its event loop blocked past
// the session timeout, so a broker process expires it) must not commit what it did: its
// transaction aborts, every task goes back to the last commit (stores reopened at their
// committed changelog offset, inputs re-read from the committed offsets), and a
// read_committed reader sees each input's output once and every count exact.

const env = brokerPerFile("eos-rollback");
const str = Serdes.string();
/** The processor blocks once, on this value, for longer than the session timeout. */
const BLOCK = "block";

describe("exactly-once rollback when the group drops a worker mid-commit", () => {
  it("aborts, rolls back to the last commit and outputs every record once", {
    timeout: 180_000, // a hang guard (loaded machines)
  }, async () => {
    const { log } = env;
    await log.admin.createTopic("in", { partitions: 2 });
    await log.admin.createTopic("echo", { partitions: 2 });
    await log.admin.createTopic("counts", { partitions: 2 });
    let blocked = false;
    const app = defineApp({
      applicationId: "eos-rollback",
      config: { processingGuarantee: "exactly_once" },
      topology: (b) => {
        const s = b.stream<string, string>("in", { keySerde: str, valueSerde: str });
        s.mapValues((v) => {
          if (v === BLOCK && !blocked) {
            blocked = true; // a side effect: runs once in this process, as foreach would
            const until = Date.now() + 9_000;
            while (Date.now() < until) {}
          }
          return v;
        }).to("echo", { keySerde: str, valueSerde: str });
        s.groupByKey().count({ storeName: "n" }).toStream().to("counts", {
          keySerde: str,
          valueSerde: Serdes.json<number>(),
        });
      },
    });
    const warnings: string[] = [];
    const worker = runWorker(app, {
      log,
      stateDir: path.join(env.root, "state"),
      commitIntervalMs: 100,
      sessionTimeoutMs: 3_000,
      warn: (_m, fields) => warnings.push(String(fields?.event)),
    });
    await worker.start();
    const values = [
      ...Array.from({ length: 100 }, (_, i) => `v${i}`),
      BLOCK,
      ...Array.from({ length: 100 }, (_, i) => `v${100 + i}`),
    ];
    const keyOf = (i: number) => `k${i % 5}`;
    await produce(
      log,
      "in",
      values.map((v, i) => ({ key: Buffer.from(keyOf(i)), value: Buffer.from(v) })),
    );
    await eventually(async () => {
      const committed = await log.admin.fetchCommittedOffsets("eos-rollback", ["in"]);
      const done = committed.reduce((n, c) => n + c.offset, 0) === values.length;
      return done && blocked ? true : undefined;
    }, "every record processed and committed after the rollback");
    await worker.stop();
    expect(warnings.some((w) => w === "commit-aborted" || w === "partitions-lost")).toBe(true);

    const echo = await readTopic(log, "echo", str, str, "read_committed");
    const seen = echo.records.map((r) => r.value).sort();
    expect(seen).toEqual([...values].sort());
    const expected = new Map<string, number>();
    for (let i = 0; i < values.length; i++) {
      expected.set(keyOf(i), (expected.get(keyOf(i)) ?? 0) + 1);
    }
    const counts = await readTopic(log, "counts", str, Serdes.json<number>(), "read_committed");
    expect(counts.table).toEqual(expected);
  });
});
