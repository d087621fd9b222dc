import { connectBroker } from "@tributary/log";
import { describe, expect, it } from "vitest";
import {
  startBrokerProcess,
  startWorker,
  stopWorker,
  tempDir,
  type WorkerProc,
} from "./runtime-helpers.js";
import { tasksOf, wordCountPhases } from "./word-count-phases.js";

describe("a task that moves to another worker and back", () => {
  // A task closed when its partition moved away stayed among the worker's suspended tasks;
  // when the partition came back, the worker picked up that closed task again and failed
  // on its first record with "store … is closed".
  it("is opened anew on its first worker, which goes on counting like the reference", {
    timeout: 300_000, // a hang guard (loaded machines)
  }, async () => {
    const b = await startBrokerProcess(tempDir("back-broker"));
    const log = await connectBroker(b.address);
    const workers: WorkerProc[] = [];
    try {
      await log.admin.createTopic("lines", { partitions: 4 });
      await log.admin.createTopic("word-counts", { partitions: 4 });
      const { expected, phase, caughtUp } = wordCountPhases(log, 11);

      const first = await startWorker(b.address, "word-count-app.ts", tempDir("back-a"));
      workers.push(first);
      await phase(500);
      await caughtUp();
      await first.proc.waitForLine(() => tasksOf(first).length === 8, "all 8 tasks on the first");

      // A second worker takes a share: some of the first worker's tasks move away.
      const second = await startWorker(b.address, "word-count-app.ts", tempDir("back-b"));
      workers.push(second);
      await first.proc.waitForLine(
        () => tasksOf(first).length > 0 && tasksOf(first).length < 8,
        "the first worker giving tasks away",
      );
      await phase(500);
      await caughtUp();

      // It leaves: every task comes back to the first worker, which processes more.
      await stopWorker(workers.pop()!);
      await first.proc.waitForLine(() => tasksOf(first).length === 8, "all 8 tasks back");
      await phase(500);
      const table = await caughtUp();
      expect(table).toEqual(expected);
      expect(first.proc.lines.filter((l) => l.includes('"event":"error"'))).toEqual([]);
    } finally {
      for (const w of workers) w.proc.kill("SIGKILL");
      await log.close();
      b.proc.kill("SIGTERM");
      await b.proc.exited;
    }
  });
});
