import path from "node:path";
import { openEmbeddedLog, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { defineApp, runWorker } from "../src/index.js";
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
async function replay(orderTasksByTime: boolean): Promise<number[]> {
  const dir = tempDir("time-order");
  const log = await openEmbeddedLog(path.join(dir, "log"));
  try {
    await log.admin.createTopic("history", { partitions: 2 });
    await log.admin.createTopic("replayed", { partitions: 1 });
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
      applicationId: `replay-${orderTasksByTime}`,
      topology: (b) => {
        b.stream<string, string>("history", { keySerde: str, valueSerde: str }).to("replayed", {
          keySerde: str,
          valueSerde: str,
        });
      },
    });
    const worker = runWorker(app, { log, stateDir: path.join(dir, "state"), orderTasksByTime });
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

const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1]! <= x);

describe("a worker replaying history with orderTasksByTime", () => {
  it("runs the task whose next record is oldest first: two tasks' interleaved history comes out in time order", async () => {
    const ordered = await replay(true);
    expect(ordered).toHaveLength(2 * N);
    expect(ascending(ordered)).toBe(true);
    expect(ordered[0]).toBe(T0);
    expect(ordered.at(-1)).toBe(T0 + 2 * N - 1);
  });

  it("without it, each task runs its fetched batch whole (the order the option fixes)", async () => {
    const asFetched = await replay(false);
    expect(asFetched).toHaveLength(2 * N);
    expect(ascending(asFetched)).toBe(false);
  });
});
