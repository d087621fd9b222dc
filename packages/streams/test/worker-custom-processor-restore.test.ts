import fs from "node:fs";
import { Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import {
  generatePayments,
  minuteCountsReference,
  type PaymentEvent,
  sessionsReference,
  totalsReference,
} from "./custom-processor-helpers.js";
import { str } from "./helpers.js";
import {
  brokerBackend,
  produce,
  sameMap,
  startWorker,
  tempDir,
  waitForTable,
} from "./runtime-helpers.js";

const json = Serdes.json<unknown>();

function records(events: readonly PaymentEvent[]) {
  return events.map((e) => ({
    key: Buffer.from(e.key),
    value: Buffer.from(JSON.stringify(e.value)),
    timestamp: e.timestamp,
  }));
}

describe("custom processors with RocksDB stores in a worker process", () => {
  it("give the reference answers from key-value, window and session stores; killed with SIGKILL, a worker on empty local state restores the key-value store from its changelog and loses nothing", {
    timeout: 120_000,
  }, async () => {
    const backend = await brokerBackend();
    const { log } = backend;
    const stateA = tempDir("custom-proc-a");
    const stateB = tempDir("custom-proc-b");
    try {
      for (const t of ["payments", "totals", "minute-counts", "sessions"]) {
        await log.admin.createTopic(t, { partitions: 2 });
      }
      const events = generatePayments(1200, 9);
      const flags = ["--session-ms", "1200", "--commit-ms", "150"];
      const a = await startWorker(backend, "custom-processor-app.ts", stateA, flags);
      const first = events.slice(0, 700);
      await produce(log, "payments", records(first));
      const references = [
        ["totals", totalsReference(first), "totals of the first part"],
        ["minute-counts", minuteCountsReference(first), "per-minute counts (window store)"],
        ["sessions", sessionsReference(first), "sessions (session store)"],
      ] as const;
      for (const [topic, reference, what] of references) {
        const want = reference as Map<string, unknown>;
        await waitForTable(log, topic, str, json, (t) => sameMap(t, want), what);
      }

      // kill mid-stream: input keeps arriving, so some is processed but not committed
      const middle = events.slice(700, 950);
      const background = (async () => {
        for (let i = 0; i < middle.length; i += 25) {
          await produce(log, "payments", records(middle.slice(i, i + 25)));
        }
      })();
      const commitsBefore = a.proc.lines.filter((l) => l.includes('"event":"commit"')).length;
      await a.proc.waitForLine(
        () =>
          a.proc.lines.filter((l) => l.includes('"event":"commit"')).length >= commitsBefore + 2,
        "two more commits",
      );
      a.proc.kill("SIGKILL");
      await a.proc.exited;
      await background;

      // a new machine: nothing local, so the dedup store comes back from the changelog only
      fs.rmSync(stateA, { recursive: true, force: true });
      const b = await startWorker(backend, "custom-processor-app.ts", stateB, flags);
      await produce(log, "payments", records(events.slice(950)));
      const totals = await waitForTable(
        log,
        "totals",
        str,
        json,
        (t) => sameMap(t, totalsReference(events)),
        "totals of every payment, each id once",
        60_000,
      );
      expect(totals).toEqual(totalsReference(events));
      const restored = b.proc
        .events<{ event: string; store?: string; total?: number }>()
        .filter((e) => e.event === "restore" && e.store === "totals")
        .reduce((n, e) => n + (e.total ?? 0), 0);
      expect(restored).toBeGreaterThan(0);
      const changelog = await log.admin.describeTopic("custom-proc-app-totals-changelog");
      expect(changelog.config.cleanupPolicy).toBe("compact");
      b.proc.kill("SIGTERM");
      await b.proc.exited;
    } finally {
      await backend.close();
      fs.rmSync(stateA, { recursive: true, force: true });
      fs.rmSync(stateB, { recursive: true, force: true });
    }
  });
});
