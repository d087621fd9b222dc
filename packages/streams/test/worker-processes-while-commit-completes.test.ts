import { describe, expect, it } from "vitest";
import { defineApp, type ProcessingGuarantee, runWorker, Serdes } from "../src/index.js";
import { brokerPerFile, eventually } from "./runtime-helpers.js";

const str = Serdes.string();
const broker = brokerPerFile("overlap");

/**
 * Runs a one-step topology on a 10 ms commit interval while inputs keep arriving, and
 * counts the commits during which the worker processed records: when a commit's offsets
 * are written, the worker's processed count is past the count the commit started at only
 * if the loop went on while the commit completed. Stops once `enough(commits, overlapped)`.
 */
async function commitsWhileFed(
  id: string,
  guarantee: ProcessingGuarantee,
  enough: (commits: number, overlapped: number) => boolean,
): Promise<{ commits: number; overlapped: number }> {
  const { log, root } = broker;
  await log.admin.createTopic(`${id}-in`, { partitions: 1 });
  await log.admin.createTopic(`${id}-out`, { partitions: 1 });
  const app = defineApp({
    applicationId: id,
    topology: (b) => {
      b.stream<string, string>(`${id}-in`, { keySerde: str, valueSerde: str })
        .mapValues((v) => v.toUpperCase())
        .to(`${id}-out`, { keySerde: str, valueSerde: str });
    },
  });
  let commits = 0;
  let overlapped = 0;
  const worker = runWorker(app, {
    log,
    stateDir: `${root}/${id}-state`,
    commitIntervalMs: 10,
    processingGuarantee: guarantee,
    onCommit: (e) => {
      if (e.recordsProcessed === 0) return;
      commits++;
      if (worker.metrics().recordsProcessed > e.recordsProcessed) overlapped++;
    },
  });
  await worker.start();
  const producer = log.producer();
  let sending = true;
  const feeding = (async () => {
    for (let n = 0; sending; n += 20) {
      const batch = Array.from({ length: 20 }, (_, j) => ({
        key: Buffer.from(`k${j}`),
        value: Buffer.from(`v${n + j}`),
      }));
      await producer.send(`${id}-in`, batch);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  try {
    await eventually(
      async () => (enough(commits, overlapped) ? true : undefined),
      `enough commits of ${id}`,
      120_000,
    );
  } finally {
    sending = false;
    await feeding;
    await producer.close();
    await worker.stop();
  }
  return { commits, overlapped };
}

/**
 * At-least-once, a commit on the interval lets the worker's loop go on polling and
 * processing while its outputs are acknowledged and its offsets written (issue #14: the
 * blocking commit was part of the one-step p99); exactly-once keeps its commit blocking
 * (one transaction per commit).
 */
describe("a worker's loop while a commit completes", () => {
  it("at-least-once: processes records arriving meanwhile", { timeout: 180_000 }, async () => {
    const r = await commitsWhileFed("alos-overlap", "at_least_once", (_c, o) => o >= 3);
    expect(r.overlapped).toBeGreaterThanOrEqual(3);
  });

  it("exactly-once: processes nothing until the commit is done", {
    timeout: 180_000,
  }, async () => {
    const r = await commitsWhileFed("eos-blocking", "exactly_once", (c) => c >= 30);
    expect(r.commits).toBeGreaterThanOrEqual(30);
    expect(r.overlapped).toBe(0);
  });
});
