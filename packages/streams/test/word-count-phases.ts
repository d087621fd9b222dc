import { type LogClient, Serdes } from "@tributary/log";
import { randomLine, seeded } from "./helpers.js";
import { produce, sameMap, waitForTable, type WorkerProc } from "./runtime-helpers.js";

const str = Serdes.string();
const json = Serdes.json<number>();

/**
 * Lines produced in phases to the word-count fixture's "lines" topic, with the counts
 * they should add up to: for tests that move the app's tasks between workers between
 * phases (worker-scaling, a task that moves away and back).
 */
export function wordCountPhases(log: LogClient, seed: number) {
  const rand = seeded(seed);
  const expected = new Map<string, number>();
  let n = 0;
  return {
    expected,
    /** Produces `lines` random lines and adds their words to `expected`. */
    async phase(lines: number): Promise<void> {
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
    },
    /** Waits until "word-counts" holds `expected`; returns the table. */
    caughtUp: () =>
      waitForTable(
        log,
        "word-counts",
        str,
        json,
        (t) => sameMap(t, expected),
        "the reference counts",
      ),
  };
}

/** The tasks a worker last reported running. */
export function tasksOf(w: WorkerProc): string[] {
  return (
    w.proc
      .events<{ event: string; tasks?: string[] }>()
      .filter((e) => e.event === "tasks")
      .at(-1)?.tasks ?? []
  );
}
