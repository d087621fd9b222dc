import fs from "node:fs";
import { connectBroker, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { seeded } from "./helpers.js";
import {
  readTopic,
  startBrokerProcess,
  startWorker,
  tempDir,
  waitForTable,
  type WorkerProc,
} from "./runtime-helpers.js";

const str = Serdes.string();
const ids = Serdes.json<string[]>();
const KEYS = Array.from({ length: 200 }, (_, i) => `group-${i}`);
const KILLS = 6;
const EVENTS_PER_ROUND = 400;
// a killed member holds its partitions until its session expires: keep that short
const SESSION = ["--session-ms", "1200"];

describe("a stateful worker killed with SIGKILL, again and again", () => {
  // bounded by process starts (tsx) and session expiry; generous for a loaded 2-core box
  it("restores its store from the changelog and loses no input: every key ends with the reference set of ids", {
    timeout: 90_000,
  }, async () => {
    const b = await startBrokerProcess(tempDir("crash-broker"));
    const log = await connectBroker(b.address);
    try {
      await log.admin.createTopic("events", { partitions: 2 });
      await log.admin.createTopic("seen-ids-out", { partitions: 2 });
      const producer = log.producer();
      const rand = seeded(99);
      const expected = new Map<string, Set<string>>();
      let next = 0;
      const round = async (n: number, everyKey = false) => {
        const events = Array.from({ length: n }, (_, i) => {
          const key =
            everyKey && i < KEYS.length ? KEYS[i]! : KEYS[Math.floor(rand() * KEYS.length)]!;
          const id = `e${next++}`;
          const set = expected.get(key) ?? new Set<string>();
          expected.set(key, set.add(id));
          return { key: Buffer.from(key), value: Buffer.from(id) };
        });
        await producer.send("events", events);
      };

      let state = tempDir("crash-state");
      let restoredFromChangelog = 0;
      for (let kill = 0; kill < KILLS; kill++) {
        // every other restart loses its local state too: restore then replays the whole
        // changelog instead of the tail after the offset RocksDB stored
        if (kill % 2 === 1) {
          fs.rmSync(state, { recursive: true, force: true });
          state = tempDir("crash-state");
        }
        const w: WorkerProc = await startWorker(b.address, "id-collector-app.ts", state, [
          ...SESSION,
          "--commit-ms",
          "150",
        ]);
        await round(EVENTS_PER_ROUND);
        // kill mid-stream: input keeps arriving, so some of it is processed, not committed
        let producing = true;
        const background = (async () => {
          while (producing) {
            await round(10);
            await new Promise((r) => setTimeout(r, 20));
          }
        })();
        const commits = () => w.proc.lines.filter((l) => l.includes('"event":"commit"')).length;
        await w.proc.waitForLine(() => commits() >= 2, "two commits");
        await new Promise((r) => setTimeout(r, Math.floor(rand() * 300)));
        w.proc.kill("SIGKILL");
        await w.proc.exited;
        producing = false;
        await background;
        for (const e of w.proc.events<{ event: string; total?: number }>()) {
          if (e.event === "restore") restoredFromChangelog += e.total ?? 0;
        }
      }
      const last = await startWorker(b.address, "id-collector-app.ts", state, [
        ...SESSION,
        "--commit-ms",
        "150",
      ]);
      await round(EVENTS_PER_ROUND, true);
      const table = await waitForTable(
        log,
        "seen-ids-out",
        str,
        ids,
        (t) => [...expected].every(([k, set]) => [...set].every((id) => t.get(k)?.includes(id))),
        "every id in the aggregates",
      );
      last.proc.kill("SIGTERM");
      await last.proc.exited;

      let twice = 0;
      for (const [key, set] of expected) {
        const seen = table.get(key)!;
        // at-least-once: nothing lost, nothing invented, some ids possibly seen twice
        expect(new Set(seen), key).toEqual(set);
        expect(seen.length, key).toBeGreaterThanOrEqual(set.size);
        twice += seen.length - set.size;
      }
      expect(restoredFromChangelog).toBeGreaterThan(0);
      const total = [...expected.values()].reduce((n, s) => n + s.size, 0);
      console.log(
        `${KILLS} SIGKILLs over ${total} events: ${twice} processed twice; ${restoredFromChangelog} changelog records restored`,
      );
      // the changelog alone holds the same state: its last record per key is the aggregate
      const changelog = await readTopic(log, "ids-app-seen-ids-changelog", str, ids);
      for (const [key, seen] of table) expect(changelog.table.get(key), key).toEqual(seen);
      await producer.close();
    } finally {
      await log.close();
      b.proc.kill("SIGTERM");
      await b.proc.exited;
    }
  });
});
