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

describe("workers joining and leaving the app's group", () => {
  it("two workers, then three, then one: the final counts equal the reference (one worker's result)", {
    timeout: 300_000, // a hang guard (loaded machines)
  }, async () => {
    const b = await startBrokerProcess(tempDir("scale-broker"));
    const log = await connectBroker(b.address);
    const workers: WorkerProc[] = [];
    try {
      await log.admin.createTopic("lines", { partitions: 6 });
      await log.admin.createTopic("word-counts", { partitions: 6 });
      const { expected, phase, caughtUp } = wordCountPhases(log, 3);

      // each worker has its own state directory, as on separate machines
      workers.push(await startWorker(b.address, "word-count-app.ts", tempDir("scale-a")));
      workers.push(await startWorker(b.address, "word-count-app.ts", tempDir("scale-b")));
      await phase(1500);
      await caughtUp();
      // the second worker's join may complete after the first caught up alone
      for (const w of workers) {
        await w.proc.waitForLine(
          () => tasksOf(w).length > 0 && tasksOf(w).length < 12,
          "a share of the tasks",
        );
      }

      workers.push(await startWorker(b.address, "word-count-app.ts", tempDir("scale-c")));
      await phase(1500);
      await caughtUp();
      await workers[2]!.proc.waitForLine(
        (l) => l.includes('"event":"tasks"') && !l.includes('"tasks":[]'),
        "tasks for the third worker",
      );

      await stopWorker(workers.shift()!);
      await stopWorker(workers.shift()!);
      await phase(1500);
      const table = await caughtUp();
      // the one worker left runs every task: 6 partitions × 2 sub-topologies
      await workers[0]!.proc.waitForLine(
        () => tasksOf(workers[0]!).length === 12,
        "all 12 tasks on the last worker",
      );
      expect(table).toEqual(expected);
    } finally {
      for (const w of workers) w.proc.kill("SIGKILL");
      await log.close();
      b.proc.kill("SIGTERM");
      await b.proc.exited;
    }
  });
});
