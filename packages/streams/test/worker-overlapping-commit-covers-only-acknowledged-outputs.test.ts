import type { LogClient } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { eventually, stopWorker, type WorkerProc, workersPerTest } from "./runtime-helpers.js";
import { committedInputs, nameOutputs } from "./upper-case-app-helpers.js";
/** Commits on the interval overlap the worker's next polls (at-least-once); this short an
 * interval keeps one in flight most of the time, so a kill lands during one. */
const COMMIT_FLAGS = ["--commit-ms", "10", "--session-ms", "3000", "--client-id", "upper-1"];

/** Input i is `name-i`, at offset i of the one-partition input; its output is `NAME-i`. */
const input = (i: number) => ({ key: Buffer.from(`k${i % 7}`), value: Buffer.from(`name-${i}`) });
const outputOf = (i: number) => `NAME-${i}`;

async function outputs(log: LogClient): Promise<Set<string>> {
  return new Set(await nameOutputs(log));
}

/** The inputs below the committed offset whose output is not in names-out (must be none). */
async function committedWithoutOutput(
  log: LogClient,
): Promise<{ committed: number; missing: number[] }> {
  const committed = await committedInputs(log);
  const out = await outputs(log);
  const missing: number[] = [];
  for (let i = 0; i < committed; i++) if (!out.has(outputOf(i))) missing.push(i);
  return { committed, missing };
}

/** Commits this worker reported that covered processed records. */
const commitsWithRecords = (w: WorkerProc) =>
  w.proc.lines.filter((l) => l.includes('"event":"commit"') && !l.includes('"processed":0')).length;

/**
 * At-least-once commits on the interval let the worker's loop go on polling and processing
 * while the outputs they cover are acknowledged and their offsets written (issue #14: the
 * blocking commit was ~0.7 ms of the one-step p99). The offsets are fixed when a commit
 * starts and written only after those outputs are acknowledged, so a crash at any moment
 * leaves no committed input without its output, and a failed send fails the commit
 * without writing its offsets.
 */
describe("an at-least-once commit that overlaps processing", () => {
  const workers = workersPerTest();

  it("never commits an input whose output is not acknowledged: SIGKILLs while inputs keep arriving", {
    timeout: 300_000,
  }, async () => {
    const b = await workers.open();
    await b.log.admin.createTopic("names-in", { partitions: 1 });
    await b.log.admin.createTopic("names-out", { partitions: 1 });
    const producer = b.log.producer();
    let sent = 0;
    let sending = true;
    const feeding = (async () => {
      while (sending) {
        const batch = Array.from({ length: 20 }, (_, j) => input(sent + j));
        await producer.send("names-in", batch);
        sent += batch.length;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();

    try {
      let lastCommitted = 0;
      for (let kill = 0; kill < 3; kill++) {
        const w = await workers.start("upper-case-app.ts", `upper-state-${kill}`, COMMIT_FLAGS);
        await eventually(
          async () => (commitsWithRecords(w) >= 5 ? true : undefined),
          `five commits with records by worker ${kill + 1}`,
          120_000,
        );
        w.proc.kill("SIGKILL");
        await w.proc.exited;
        const { committed, missing } = await committedWithoutOutput(b.log);
        expect(missing).toEqual([]);
        // each worker committed progress of its own before it was killed
        expect(committed).toBeGreaterThan(lastCommitted);
        lastCommitted = committed;
      }
    } finally {
      sending = false;
      await feeding;
      await producer.close();
    }

    // a last worker takes the rest: every input has its output at least once
    const last = await workers.start("upper-case-app.ts", "upper-state-last", COMMIT_FLAGS);
    await eventually(
      async () => {
        const out = await outputs(b.log);
        for (let i = 0; i < sent; i++) if (!out.has(outputOf(i))) return undefined;
        return true;
      },
      `an output for each of the ${sent} inputs`,
      120_000,
    );
    await stopWorker(last);
    expect(await committedInputs(b.log)).toBe(sent);
  });

  it("fails, without writing its offsets, when an output it covers is refused", {
    timeout: 180_000,
  }, async () => {
    const b = await workers.open();
    await b.log.admin.createTopic("names-in", { partitions: 1 });
    // the one large output is refused (its batch is over max.message.bytes), small ones not
    await b.log.admin.createTopic("names-out", {
      partitions: 1,
      config: { maxMessageBytes: 64 * 1024 },
    });
    const BIG = 200;
    const records = Array.from({ length: 300 }, (_, i) =>
      i === BIG
        ? { key: Buffer.from("k"), value: Buffer.from(`name-${"x".repeat(100_000)}`) }
        : input(i),
    );
    const producer = b.log.producer();
    // in three parts, so that commits cover the small records before the refused one
    await producer.send("names-in", records.slice(0, BIG));
    const w = await workers.start("upper-case-app.ts", "upper-state", COMMIT_FLAGS);
    await eventually(
      async () => ((await committedInputs(b.log)) === BIG ? true : undefined),
      `the first ${BIG} inputs committed`,
      120_000,
    );
    await producer.send("names-in", records.slice(BIG));
    await producer.close();

    const { code } = await w.proc.exited;
    expect(code).toBe(1);
    const error = w.proc.lines.find((l) => l.includes('"event":"error"'));
    expect(error).toMatch(/names-out/);
    // nothing at or past the refused output was committed, and what was has its outputs
    const { committed, missing } = await committedWithoutOutput(b.log);
    expect(committed).toBe(BIG);
    expect(missing).toEqual([]);
  });
});
