import { connectBroker, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { randomLine, seeded } from "./helpers.js";
import {
  produce,
  sameMap,
  startBrokerProcess,
  startWorker,
  stopWorker,
  tempDir,
  waitForTable,
  type WorkerProc,
} from "./runtime-helpers.js";

const str = Serdes.string();
const json = Serdes.json<number>();

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
      const rand = seeded(3);
      const expected = new Map<string, number>();
      let n = 0;
      const phase = async (lines: number) => {
        const batch = Array.from({ length: lines }, () => randomLine(rand));
        for (const line of batch) {
          for (const w of line.toLowerCase().split(/[^a-z0-9]+/)) {
            if (w !== "") expected.set(w, (expected.get(w) ?? 0) + 1);
          }
        }
        await produce(
          log,
          "lines",
          batch.map((l) => ({ key: Buffer.from(`line-${n++}`), value: Buffer.from(l) })),
        );
      };
      const caughtUp = () =>
        waitForTable(
          log,
          "word-counts",
          str,
          json,
          (t) => sameMap(t, expected),
          "the reference counts",
        );
      const tasksOf = (w: WorkerProc) =>
        w.proc
          .events<{ event: string; tasks?: string[] }>()
          .filter((e) => e.event === "tasks")
          .at(-1)?.tasks ?? [];

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
