import { Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { JOIN_WITHIN_MS, PAIR_WINDOWS } from "./fixtures/click-view-join-app.js";
import type { Click } from "./fixtures/clicks-app.js";
import {
  countSerde,
  diff,
  generateClicks,
  onBroker,
  pageWindowKey,
  produceClicks,
  stopWorkers,
} from "./event-time-helpers.js";
import { readTopic, startWorker, tempDir } from "./runtime-helpers.js";
import { waitCaughtUp } from "./worker-windows-helpers.js";

// Issue 11's proof for joins: a windowed stream-stream join of two re-keyed (repartitioned)
// inputs, and a windowed count of its pairs, over an hour of history replayed by 2
// workers, equal the history processed in event-time order. Join buffers expire, and the
// count's windows close, on the minimum of the upstream tasks' watermarks.
describe("a windowed join over repartitioned history on 2 workers", () => {
  it("finds every click-view pair within 10 s, and counts them per page in 5-minute windows, as the reference", {
    timeout: 180_000,
  }, async () => {
    const topics = ["clicks", "views", "cvj-pairs", "cvj-pair-counts"];
    await onBroker(topics, 3, async (backend) => {
      const { log } = backend;
      const clicks = generateClicks(4000, 21);
      const views = generateClicks(4000, 22).map((v) => ({ ...v, id: `v${v.id}` }));
      await produceClicks(log, clicks);
      await produceClicks(log, views, "views");
      const pairs: string[] = [];
      const perWindow = new Map<string, number>();
      const viewsByPage = new Map<string, Click[]>();
      for (const v of views) viewsByPage.set(v.page, [...(viewsByPage.get(v.page) ?? []), v]);
      for (const c of clicks) {
        for (const v of viewsByPage.get(c.page) ?? []) {
          if (Math.abs(c.ts - v.ts) > JOIN_WITHIN_MS) continue;
          pairs.push(`${c.id}|${v.id}`);
          const start = PAIR_WINDOWS.windowStartsFor(Math.max(c.ts, v.ts))[0]!;
          const k = `${c.page}@${start}`;
          perWindow.set(k, (perWindow.get(k) ?? 0) + 1);
        }
      }
      expect(pairs.length).toBeGreaterThan(500);

      const workers = [];
      for (const i of [0, 1]) {
        workers.push(await startWorker(backend, "click-view-join-app.ts", tempDir(`cvj-${i}`)));
      }
      try {
        const internal = (await log.admin.listTopics({ includeInternal: true })).filter(
          (t) => t.startsWith("cvj-") && t.endsWith("-repartition"),
        );
        expect(internal).toHaveLength(2);
        await waitCaughtUp(log, "cvj", ["clicks", "views", ...internal], 120_000);
      } finally {
        await stopWorkers(workers);
      }
      const str = Serdes.string();
      const got = (await readTopic(log, "cvj-pairs", str, str)).records.map((r) => r.value!);
      expect(got.length, "pairs").toBe(pairs.length);
      expect([...got].sort()).toEqual([...pairs].sort());
      const counts = (await readTopic(log, "cvj-pair-counts", pageWindowKey, countSerde)).table;
      expect(diff(counts as Map<string, number>, perWindow)).toBe(diff(perWindow, perWindow));
    });
  });
});
