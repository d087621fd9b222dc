import { connectBroker, type LogClient, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { windowedSerde } from "../src/index.js";
import type { PageView } from "./fixtures/page-views-app.js";
import {
  produce,
  readTopic,
  startBrokerProcess,
  startWorker,
  stopWorker,
  tempDir,
} from "./runtime-helpers.js";
import {
  byPartition,
  generateViews,
  MINUTE,
  SECOND,
  sessionReference,
  tumblingReference,
  waitCaughtUp,
} from "./worker-windows-helpers.js";

const str = Serdes.string();
const wkey = windowedSerde(str);
const counts = Serdes.msgpack<number | null>();
const hex = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b.toString("hex") };
const PARTITIONS = 2;

/** The table a windowed output ends in, by `key@start-end` (null values delete). */
async function windowedTable(log: LogClient, topic: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of (await readTopic(log, topic, wkey, counts)).records) {
    const k = `${r.key.key}@${r.key.window.start}-${r.key.window.end}`;
    if (r.value === null) out.delete(k);
    else out.set(k, r.value);
  }
  return out;
}

describe("page views per window on a real worker over a broker", () => {
  it("tumbling 1-minute windows (grace 10 s) and 30 s sessions over 12,000 views equal their references; views seconds late count, minutes late drop; old segments leave the changelog", {
    timeout: 60_000,
  }, async () => {
    const b = await startBrokerProcess(tempDir("pv-broker"));
    const log = await connectBroker(b.address);
    try {
      await log.admin.createTopic("page-views", { partitions: PARTITIONS });
      await log.admin.createTopic("views-per-minute", { partitions: 1 });
      await log.admin.createTopic("views-per-session", { partitions: 1 });
      const views = generateViews(12_000, {
        seed: 7,
        users: 60,
        stepMs: 300,
        slightlyLate: 0.08,
        veryLate: 0.01,
      });
      const parts = byPartition(views, (v) => v.user, PARTITIONS);
      const tumbling = tumblingReference(parts, MINUTE, 10 * SECOND);
      const sessions = sessionReference(parts, 30 * SECOND, 10 * SECOND);
      // the generated data exercises both kinds of lateness
      expect(tumbling.dropped).toBeGreaterThan(50);
      expect(tumbling.lateButCounted).toBeGreaterThan(500);
      expect(sessions.dropped).toBeGreaterThan(50);

      await produce(
        log,
        "page-views",
        views.map((v: PageView) => ({
          key: Buffer.from(v.user),
          value: Buffer.from(JSON.stringify(v)),
          timestamp: v.ts,
        })),
      );
      const w = await startWorker(b.address, "page-views-app.ts", tempDir("pv-state"));
      await waitCaughtUp(log, "pv-app", ["page-views"]);
      await stopWorker(w);

      const minuteTable = await windowedTable(log, "views-per-minute");
      expect(minuteTable).toEqual(
        new Map([...tumbling.windows].map(([k, ids]) => [k, ids.length])),
      );

      const sessionTable = await windowedTable(log, "views-per-session");
      expect(sessionTable).toEqual(sessions.sessions);

      // retention (size + grace) drops whole old segments at commit, with tombstones: the
      // changelog's live entries are the recent windows only, far fewer than all of them
      const changelog = await readTopic(log, "pv-app-per-minute-changelog", hex, hex);
      expect(changelog.records.some((r) => r.value === null)).toBe(true);
      expect(changelog.table.size).toBeGreaterThan(0);
      expect(changelog.table.size).toBeLessThan(tumbling.windows.size / 4);
    } finally {
      await log.close();
      b.proc.kill("SIGTERM");
      await b.proc.exited;
    }
  });
});
