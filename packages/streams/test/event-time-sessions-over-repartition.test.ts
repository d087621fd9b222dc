import { Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { type Serde, windowedSerde } from "../src/index.js";
import { type Click, CLICK_SESSIONS } from "./fixtures/clicks-app.js";
import {
  countSerde,
  diff,
  generateClicks,
  onBroker,
  produceClicks,
  runClickApp,
} from "./event-time-helpers.js";
import { readTopic } from "./runtime-helpers.js";

const SESSIONED = windowedSerde(Serdes.string());

/** Session keys read as `page@start-end`: a session that grew has a new end. */
const sessionKey: Serde<string> = {
  name: "page@start-end",
  serialize: () => {
    throw new Error("read only");
  },
  deserialize: (b) => {
    const w = SESSIONED.deserialize(b)!;
    return `${w.key}@${w.window.start}-${w.window.end}`;
  },
};

/**
 * Per page, its clicks in time order cut where the next one comes more than the
 * inactivity gap after the session's last click: what session windows hold once every
 * click is in, whatever order they came in (none is late: disorder 20 s < grace 30 s).
 */
function sessionReference(clicks: readonly Click[]): Map<string, number> {
  const byPage = new Map<string, number[]>();
  for (const c of clicks) byPage.set(c.page, [...(byPage.get(c.page) ?? []), c.ts]);
  const out = new Map<string, number>();
  for (const [page, times] of byPage) {
    times.sort((a, b) => a - b);
    let start = times[0]!;
    let end = start;
    let n = 0;
    for (const t of times) {
      if (t - end > CLICK_SESSIONS.inactivityGapMs) {
        out.set(`${page}@${start}-${end}`, n);
        start = t;
        n = 0;
      }
      end = t;
      n++;
    }
    out.set(`${page}@${start}-${end}`, n);
  }
  return out;
}

// Issue 11: session windows over replayed history after a repartition. Sessions merge as
// clicks arrive; a downstream task whose time ran ahead on one upstream task's records
// would drop the other task's clicks as late, or close sessions they would have joined.
describe("session windows over a repartition topic, replaying history", () => {
  it("clicks per page session (gap 2 min, grace 30 s) after groupBy equal the reference with 2 workers", {
    timeout: 300_000, // a hang guard (loaded machines)
  }, async () => {
    await onBroker(["clicks", "sessions-out"], 3, async (backend) => {
      // Sparse: 200 pages with about 15 clicks an hour each, so sessions start, merge and
      // end all through the hour.
      const clicks = generateClicks(3000, 23, 50, 200);
      await produceClicks(backend.log, clicks);
      const want = sessionReference(clicks);
      expect(want.size).toBeGreaterThan(400);
      await runClickApp(backend, "sessions", 2, { CLICKS_MODE: "sessions" });
      const got = (await readTopic(backend.log, "sessions-out", sessionKey, countSerde))
        .table as Map<string, number>;
      expect(diff(got, want)).toBe(diff(want, want));
    });
  });
});
