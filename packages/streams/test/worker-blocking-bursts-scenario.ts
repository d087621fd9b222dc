import fs from "node:fs";
import { Serdes } from "@tributary/log";
import { expect } from "vitest";
import {
  type Backend,
  eventually,
  readTopic,
  startWorker,
  stopWorker,
  tempDir,
  type WorkerProc,
} from "./runtime-helpers.js";

const str = Serdes.string();
const PER_PARTITION = 400;

/**
 * Issue 10, item 12: a worker whose processing held its event loop longer than the
 * session timeout missed its heartbeats, the group dropped it, and everything it processed
 * since its last commit was processed again (the over-count). Two worker processes on
 * `backend`; fixtures/bursty-app.ts busy-waits 200 ms every 10 records, so each worker's
 * first batch (one poll: the 400 records of its partition) holds its loop for 8 s in all,
 * twice the 4 s session. Asserts the group keeps its members (and, where the backend
 * tells it, its generation), every record is output exactly once, and no worker reports
 * a loss or a refused commit. Run over the broker (streams tests) and Kafka.
 */
export async function blockingBurstsScenario(backend: Backend): Promise<void> {
  const { log } = backend;
  const workers: WorkerProc[] = [];
  const root = tempDir("bursts");
  try {
    await log.admin.createTopic("bursts-in", { partitions: 2 });
    await log.admin.createTopic("bursts-out", { partitions: 2 });
    for (const name of ["a", "b"]) {
      const extra = ["--session-ms", "4000", "--client-id", name];
      workers.push(await startWorker(backend, "bursty-app.ts", `${root}/${name}`, extra));
    }
    const stable = await eventually(
      async () => {
        const g = await log.admin.describeGroup("bursty-app");
        const spread = g.members.every((m) => m.assignment.length === 1);
        return g.state === "Stable" && g.members.length === 2 && spread ? g : undefined;
      },
      "both workers in the group, one partition each",
      60_000,
    );

    const producer = log.producer();
    for (let p = 0; p < 2; p++) {
      await producer.send(
        "bursts-in",
        Array.from({ length: PER_PARTITION }, (_, i) => ({
          key: Buffer.from(`p${p}-${i}`),
          value: Buffer.from(`v${i}`),
          partition: p,
        })),
      );
    }
    await producer.close();

    const total = 2 * PER_PARTITION;
    await eventually(
      async () => {
        const ends = await log.admin.listOffsets("bursts-out", "latest");
        return ends.reduce((n, e) => n + e.offset, 0) >= total ? true : undefined;
      },
      `${total} records in bursts-out`,
      90_000,
    );

    const after = await log.admin.describeGroup("bursty-app");
    // (Kafka's DescribeGroups does not tell the generation: -1 there.)
    if (stable.generation >= 0) expect(after.generation).toBe(stable.generation);
    expect(after.members.map((m) => m.memberId).sort()).toEqual(
      stable.members.map((m) => m.memberId).sort(),
    );
    const { records } = await readTopic(log, "bursts-out", str, str);
    expect(records).toHaveLength(total);
    expect(new Set(records.map((r) => r.key)).size).toBe(total);
    const stopped = workers.splice(0);
    for (const w of stopped) await stopWorker(w);
    for (const w of stopped) {
      expect(w.proc.stderr.join("")).not.toMatch(/partitions lost|commit fenced|refused/);
    }
  } finally {
    for (const w of workers) w.proc.kill("SIGKILL");
    fs.rmSync(root, { recursive: true, force: true });
  }
}
