import { describe, expect, it } from "vitest";
import {
  clickReference,
  countSerde,
  diff,
  generateClicks,
  HISTORY,
  pageWindowKey,
  produceClicks,
  startClickWorkers,
  stopWorkers,
} from "./event-time-helpers.js";
import { brokerBackend, readTopic } from "./runtime-helpers.js";
import { waitCaughtUp } from "./worker-windows-helpers.js";

// Issue 11: hopping windows after a groupBy over an hour of history replayed by 1, 2 and 3
// workers. Stream time as the largest time seen lets one upstream task's records close
// windows the others' records still belong to; with watermarks per upstream writer the
// answer is that of the history in event-time order, whatever the worker count.
describe("event time over a repartition topic, replaying history", () => {
  it("5-minute windows hopping 1 minute (grace 30 s) after groupBy equal the reference with 1, 2 and 3 workers", {
    timeout: 240_000,
  }, async () => {
    const backend = await brokerBackend();
    const { log } = backend;
    try {
      await log.admin.createTopic("clicks", { partitions: 3, config: HISTORY });
      const clicks = generateClicks(25_000, 11);
      await produceClicks(log, clicks);
      const want = clickReference(clicks);
      for (const n of [1, 2, 3]) {
        const app = `clicks-${n}w`;
        await log.admin.createTopic(`${app}-out`, { partitions: 3, config: HISTORY });
        const workers = await startClickWorkers(backend, app, n);
        try {
          await waitCaughtUp(log, app, ["clicks", `${app}-by-page-repartition`], 120_000);
        } finally {
          await stopWorkers(workers);
        }
        const got = (await readTopic(log, `${app}-out`, pageWindowKey, countSerde)).table;
        expect(diff(got as Map<string, number>, want), `${n} worker(s)`).toBe(diff(want, want));
      }
    } finally {
      await backend.close();
    }
  });
});
