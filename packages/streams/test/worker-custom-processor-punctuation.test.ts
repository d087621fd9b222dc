import { Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { str } from "./helpers.js";
import { brokerBackend, produce, readTopic, startWorker, tempDir } from "./runtime-helpers.js";

const num = Serdes.json<number>();

describe("punctuation in a worker process", () => {
  it("fires stream-time punctuators once per interval of event time, and wall-clock ones while no input arrives; a punctuator's commit request commits despite a 10-minute interval", {
    timeout: 90_000,
  }, async () => {
    const backend = await brokerBackend();
    const { log } = backend;
    try {
      await log.admin.createTopic("ticks", { partitions: 1 });
      await log.admin.createTopic("punctuations", { partitions: 1 });
      const w = await startWorker(backend, "punctuation-app.ts", tempDir("punct"), [
        "--commit-ms",
        "600000",
      ]);
      const out = async () => (await readTopic(log, "punctuations", str, num)).records;
      const waitFor = async (
        ok: (r: { key: string; value: number | null }[]) => boolean,
        what: string,
      ) => {
        const deadline = Date.now() + 45_000;
        for (;;) {
          const r = await out();
          if (ok(r)) return r;
          if (Date.now() > deadline)
            throw new Error(`timed out waiting for ${what}: ${JSON.stringify(r.slice(-5))}`);
          await new Promise((res) => setTimeout(res, 200));
        }
      };
      // before any input: the wall clock alone fires (and commits)
      await waitFor(
        (r) => r.some((x) => x.key.startsWith("wall@")),
        "a wall-clock punctuation with no input",
      );

      // 0, 3 s, …, 99 s of event time: stream time passes 10 s, 20 s, … 90 s
      await produce(
        log,
        "ticks",
        Array.from({ length: 34 }, (_, i) => ({
          key: Buffer.from("k"),
          value: Buffer.from(String(i * 3000)),
          timestamp: i * 3000,
        })),
      );
      const seenAll = (r: { key: string; value: number | null }[]) =>
        r.filter((x) => x.key.startsWith("wall@") && x.value === 34).length;
      const after = await waitFor(
        (r) => seenAll(r) >= 1,
        "a wall-clock punctuation after all input",
      );
      const idleFrom = seenAll(after);
      // input idle: wall-clock punctuations go on, stream-time ones do not
      const later = await waitFor(
        (r) => seenAll(r) >= idleFrom + 3,
        "wall-clock punctuations while input is idle",
      );
      const stream = later.filter((x) => x.key.startsWith("stream@")).map((x) => [x.key, x.value]);
      expect(stream).toEqual(
        [12_000, 21_000, 30_000, 42_000, 51_000, 60_000, 72_000, 81_000, 90_000].map((t, i) => [
          `stream@${i + 1}`,
          t,
        ]),
      );
      const commits = w.proc.lines.filter((l) => l.includes('"event":"commit"')).length;
      expect(commits).toBeGreaterThan(3);
      w.proc.kill("SIGTERM");
      await w.proc.exited;
    } finally {
      await backend.close();
    }
  });
});
