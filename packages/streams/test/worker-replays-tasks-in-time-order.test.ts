import path from "node:path";
import { openEmbeddedLog, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { defineApp, runWorker } from "../src/index.js";
import { TASK_ORDER_SLACK_MS } from "../src/runtime/task-manager.js";
import { eventually, produce, readTopic, tempDir } from "./runtime-helpers.js";

const str = Serdes.string();
// 2 × 4 MB: several fetches per partition, so the order holds across polls too.
const N = 20_000;
const PAD = "x".repeat(200);
const T0 = Date.UTC(2026, 0, 1);

/**
 * History loaded one partition after the other: partition 0 holds the even milliseconds,
 * partition 1 the odd ones, so the two tasks' time ranges interleave. A pass-through app
 * writes every record to one output partition, so the output's order is the order the
 * worker processed them in.
 */
async function replay(orderTasksByTime: boolean | undefined): Promise<number[]> {
  const dir = tempDir("time-order");
  const log = await openEmbeddedLog(path.join(dir, "log"));
  try {
    // stamped January 2026: older than the default 7 days of retention, whose run (every
    // 30 s) would delete both topics whole under a slow run
    const config = { retentionMs: -1 };
    await log.admin.createTopic("history", { partitions: 2, config });
    await log.admin.createTopic("replayed", { partitions: 1, config });
    for (const partition of [0, 1]) {
      await produce(
        log,
        "history",
        Array.from({ length: N }, (_, i) => {
          const t = T0 + 2 * i + partition;
          return {
            key: Buffer.from(`k${i}`),
            value: Buffer.from(`${t} ${PAD}`),
            timestamp: t,
            partition,
          };
        }),
      );
    }
    const app = defineApp({
      applicationId: `replay-${String(orderTasksByTime)}`,
      topology: (b) => {
        b.stream<string, string>("history", { keySerde: str, valueSerde: str }).to("replayed", {
          keySerde: str,
          valueSerde: str,
        });
      },
    });
    const worker = runWorker(app, {
      log,
      stateDir: path.join(dir, "state"),
      ...(orderTasksByTime === undefined ? {} : { orderTasksByTime }),
    });
    await worker.start();
    try {
      await eventually(async () => {
        const [end] = await log.admin.listOffsets("replayed", "latest");
        return end!.offset === 2 * N ? true : undefined;
      }, "every record replayed");
    } finally {
      await worker.stop();
    }
    const out = await readTopic(log, "replayed", str, str);
    return out.records.map((r) => Number(r.value!.split(" ")[0]));
  } finally {
    await log.close();
  }
}

/** How far the output went back in time: the most any record is older than one before it. */
function mostLateness(xs: readonly number[]): number {
  let latest = Number.NEGATIVE_INFINITY;
  let most = 0;
  for (const x of xs) {
    if (x > latest) latest = x;
    else most = Math.max(most, latest - x);
  }
  return most;
}

describe("a worker replaying history (orderTasksByTime, on by default)", () => {
  it("runs the task whose next record is oldest first: two tasks' interleaved history comes out in time order, within the scheduler's slack", async () => {
    for (const option of [undefined, true]) {
      const ordered = await replay(option);
      expect(ordered).toHaveLength(2 * N);
      expect(mostLateness(ordered)).toBeLessThanOrEqual(TASK_ORDER_SLACK_MS);
      expect(new Set(ordered).size).toBe(2 * N);
      expect(Math.min(...ordered)).toBe(T0);
      expect(Math.max(...ordered)).toBe(T0 + 2 * N - 1);
    }
  });

  it("with it off, each task runs its fetched batch whole (the order the option fixes)", async () => {
    const asFetched = await replay(false);
    expect(asFetched).toHaveLength(2 * N);
    expect(mostLateness(asFetched)).toBeGreaterThan(TASK_ORDER_SLACK_MS);
  });
});
