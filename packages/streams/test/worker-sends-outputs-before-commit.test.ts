import type { IsolationLevel, LogClient } from "@tributary/log";
import { describe, expect, it } from "vitest";
import {
  type Backend,
  eventually,
  produce,
  stopWorker,
  type WorkerProc,
  workersPerTest,
} from "./runtime-helpers.js";
import { committedInputs, nameOutputs } from "./upper-case-app-helpers.js";
const RECORDS = 300;
/** Longer than the test waits for outputs (120 s): any output it sees went out before a
 * commit on the interval could have sent it. */
const COMMIT_MS = "200000";

/** The inputs and, computed here, the output each one must become. */
const inputs = Array.from({ length: RECORDS }, (_, i) => ({
  key: `k${i % 17}`,
  value: `name-${i}`,
}));
const expected = inputs.map((r) => r.value.replace("name", "NAME"));

/** How many times each output value appears in names-out. */
async function outputCounts(
  log: LogClient,
  isolation: IsolationLevel = "read_uncommitted",
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const v of await nameOutputs(log, isolation)) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/** Waits until every expected output appears at least `times` times (read_uncommitted). */
function eachAtLeast(log: LogClient, times: number, what: string): Promise<Map<string, number>> {
  return eventually(
    async () => {
      const counts = await outputCounts(log);
      return expected.every((v) => (counts.get(v) ?? 0) >= times) ? counts : undefined;
    },
    what,
    120_000,
  );
}

const commits = (w: WorkerProc) => w.proc.lines.filter((l) => l.includes('"event":"commit"'));

/**
 * Outputs go out after each poll's records are processed, not at the next commit (issue
 * #14: a one-step topology's end-to-end latency was the commit interval), and a crash
 * before the commit repeats them rather than losing them: input offsets are committed
 * only after the outputs they cover are acknowledged (under exactly-once, in the same
 * transaction as those outputs).
 */
describe("a worker sends outputs before its commit", () => {
  const workers = workersPerTest();

  /**
   * A worker processes every input and is SIGKILLed before any commit; a second one with
   * the same client id (so, under exactly-once, the same transactional id) processes them
   * all again and stops cleanly.
   */
  async function killBeforeCommit(guarantee: string): Promise<Backend> {
    const b = await workers.open();
    await b.log.admin.createTopic("names-in", { partitions: 3 });
    await b.log.admin.createTopic("names-out", { partitions: 3 });
    const records = inputs.map((r) => ({ key: Buffer.from(r.key), value: Buffer.from(r.value) }));
    await produce(b.log, "names-in", records);
    const flags = ["--commit-ms", COMMIT_MS, "--session-ms", "10000", "--client-id", "upper-1"];
    const start = () =>
      workers.start("upper-case-app.ts", "upper-state", [...flags, "--guarantee", guarantee]);

    const first = await start();
    await eachAtLeast(b.log, 1, "every output, before any commit");
    expect(commits(first)).toEqual([]);
    expect(await committedInputs(b.log)).toBe(0);
    first.proc.kill("SIGKILL");
    await first.proc.exited;

    // nothing was committed: the next worker processes every input again
    const second = await start();
    const counts = await eachAtLeast(b.log, 2, "every output a second time after the SIGKILL");
    expect([...counts.keys()].filter((v) => !expected.includes(v))).toEqual([]);
    await stopWorker(second);
    expect(await committedInputs(b.log)).toBe(RECORDS);
    return b;
  }

  it("at-least-once: outputs are visible before the commit, and a SIGKILL repeats them", async () => {
    await killBeforeCommit("at_least_once");
  });

  it("exactly-once: outputs sent before the commit stay in the open transaction, which a SIGKILL aborts", async () => {
    const b = await killBeforeCommit("exactly_once");
    // the first worker's transaction was aborted (the second one's initTransactions fenced
    // it), the second one's committed on stop: read_committed sees each output once
    const committed = await outputCounts(b.log, "read_committed");
    expect(expected.filter((v) => committed.get(v) !== 1)).toEqual([]);
    expect(committed.size).toBe(RECORDS);
  });
});
