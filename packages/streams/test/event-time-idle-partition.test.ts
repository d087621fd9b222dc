import { describe, expect, it } from "vitest";
import { CLICK_WINDOWS } from "./fixtures/clicks-app.js";
import {
  clickRecords,
  countSerde,
  generateClicks,
  onBroker,
  pageWindowKey,
  startClickWorkers,
  stopWorkers,
} from "./event-time-helpers.js";
import { produce, sameMap, waitForTable } from "./runtime-helpers.js";

const IDLE_MS = 3000;
const COMMIT_MS = 200;

// A task reading a repartition topic takes the minimum of its upstream tasks' watermarks;
// an upstream task whose input partition never gets a record would hold it at -1 forever,
// and suppression would never emit. After idleTimeoutMs with nothing to read, that input
// stops holding event time back (docs/streams-runtime.md "Idle inputs").
describe("an idle input partition", () => {
  it("does not hold back the final windows: suppressed windows are emitted within idleTimeoutMs plus a commit interval", {
    timeout: 300_000, // a hang guard (loaded machines)
  }, async () => {
    await onBroker(["clicks", "idle-app-out"], 2, async (backend) => {
      const { log } = backend;
      const workers = await startClickWorkers(backend, "idle-app", 1, {
        CLICKS_MODE: "final",
        CLICKS_IDLE_MS: String(IDLE_MS),
      });
      try {
        // 20 minutes of clicks, all on partition 0: partition 1 stays empty
        const clicks = generateClicks(2000, 7).slice(0, 700);
        const maxTs = Math.max(...clicks.map((c) => c.ts));
        const want = new Map<string, number>();
        for (const c of clicks) {
          for (const start of CLICK_WINDOWS.windowStartsFor(c.ts)) {
            if (CLICK_WINDOWS.closesAt(start) > maxTs) continue;
            const k = `${c.page}@${start}`;
            want.set(k, (want.get(k) ?? 0) + 1);
          }
        }
        expect(want.size).toBeGreaterThan(50);
        const produced = Date.now();
        await produce(log, "clicks", clickRecords(clicks, 0));
        const got = await waitForTable(
          log,
          "idle-app-out",
          pageWindowKey,
          countSerde,
          (t) => sameMap(t as Map<string, number>, want),
          "every closed window, suppressed, with its count",
          60_000,
        );
        const elapsed = Date.now() - produced;
        expect(got).toEqual(want);
        // idle after IDLE_MS, published at the next commit, read at the next poll; the
        // rest is the loaded machine's slack (processing, the table read every 400 ms)
        console.log(`final windows of the live partition out after ${elapsed} ms`);
        expect(elapsed).toBeLessThan(IDLE_MS + COMMIT_MS + 20_000);
      } finally {
        await stopWorkers(workers);
      }
    });
  });
});
