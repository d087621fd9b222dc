import { describe, expect, it } from "vitest";
import {
  clickReference,
  countSerde,
  diff,
  generateClicks,
  onBroker,
  pageWindowKey,
  produceClicks,
  runClickApp,
} from "./event-time-helpers.js";
import { readTopic } from "./runtime-helpers.js";

// Issue 11: hopping windows after a groupBy over an hour of history replayed by 1, 2 and 3
// workers. Stream time as the largest time seen lets one upstream task's records close
// windows the others' records still belong to; with watermarks per upstream writer the
// answer is that of the history in event-time order, whatever the worker count.
describe("event time over a repartition topic, replaying history", () => {
  it("5-minute windows hopping 1 minute (grace 30 s) after groupBy equal the reference with 1, 2 and 3 workers", {
    timeout: 240_000,
  }, async () => {
    const outs = [1, 2, 3].map((n) => `clicks-${n}w-out`);
    await onBroker(["clicks", ...outs], 3, async (backend) => {
      const clicks = generateClicks(25_000, 11);
      await produceClicks(backend.log, clicks);
      const want = clickReference(clicks);
      for (const n of [1, 2, 3]) {
        await runClickApp(backend, `clicks-${n}w`, n);
        const got = (await readTopic(backend.log, `clicks-${n}w-out`, pageWindowKey, countSerde))
          .table as Map<string, number>;
        expect(diff(got, want), `${n} worker(s)`).toBe(diff(want, want));
      }
    });
  });
});
