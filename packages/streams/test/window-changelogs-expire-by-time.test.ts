import path from "node:path";
import { openEmbeddedLog, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { defineApp, JoinWindows, runWorker, TimeWindows, type WarnFields } from "../src/index.js";
import { produce, readTopic, tempDir } from "./runtime-helpers.js";
import { waitCaughtUp } from "./worker-windows-helpers.js";

/**
 * Window stores drop expired segments without tombstones (@tributary/state's
 * SegmentedBytesStore), so their changelogs must forget by time: created compact,delete
 * with the store's retention plus a day (Kafka Streams' windowstore.changelog.additional.
 * retention.ms), key-value changelogs compacted as before. A join over a span of event
 * time many retentions long still gives every pair, and its buffers' changelogs hold each
 * buffered record once and no tombstone.
 */
const str = Serdes.string();
const DAY = 24 * 60 * 60 * 1000;
const BEFORE_AFTER = 5_000;
const WINDOW = 60_000;
const GRACE = 60_000;
const JOIN_RETENTION = 2 * BEFORE_AFTER + GRACE + 1;
const ROUNDS = 20;
const PER_ROUND = 43;

const app = defineApp({
  applicationId: "expiring",
  topology: (b) => {
    const left = b.stream<string, string>("left", { keySerde: str, valueSerde: str });
    const right = b.stream<string, string>("right", { keySerde: str, valueSerde: str });
    left
      .join(
        right,
        (l: string, r: string) => `${l}|${r}`,
        JoinWindows.ofTimeDifferenceAndGrace(BEFORE_AFTER, GRACE),
        { name: "pairs" },
      )
      .to("joined", { keySerde: str, valueSerde: str });
    left.groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(WINDOW)).count();
    right.groupByKey().count();
  },
});

describe("changelogs of window stores", () => {
  it("are created compact,delete with the store's retention plus a day; an old compact-only one is warned about; a join over many retentions leaves no tombstones", {
    timeout: 240_000, // a hang guard (loaded machines)
  }, async () => {
    const dir = tempDir("window-changelogs");
    const log = await openEmbeddedLog(path.join(dir, "log"));
    const warnings: { message: string; fields: WarnFields | undefined }[] = [];
    try {
      for (const t of ["left", "right", "joined"])
        await log.admin.createTopic(t, { partitions: 1 });
      // 5 keys, a record every 700 ms per side over 10 minutes of event time: the join's
      // retention (~70 s) passes many times and its 60 s segments expire
      const t0 = 1_700_000_000_000;
      const keys = ["k0", "k1", "k2", "k3", "k4"];
      const sides = {
        left: [] as { k: string; v: string; t: number }[],
        right: [] as { k: string; v: string; t: number }[],
      };
      for (let i = 0; i < ROUNDS * PER_ROUND; i++) {
        const k = keys[i % keys.length]!;
        sides.left.push({ k, v: `l${i}`, t: t0 + i * 700 });
        sides.right.push({ k, v: `r${i}`, t: t0 + i * 700 + 350 + (i % 7) * 1000 });
      }
      const asRecords = (xs: { k: string; v: string; t: number }[]) =>
        xs.map((x) => ({ key: Buffer.from(x.k), value: Buffer.from(x.v), timestamp: x.t }));
      const worker = runWorker(app, {
        log,
        stateDir: path.join(dir, "state"),
        commitIntervalMs: 100,
        warn: (message, fields) => warnings.push({ message, fields }),
      });
      await worker.start();
      try {
        // round by round (~30 s of event time each, within the grace), so neither side
        // runs so far ahead that the other's records come too late to join
        for (let r = 0; r < ROUNDS; r++) {
          const at = r * PER_ROUND;
          await produce(log, "left", asRecords(sides.left.slice(at, at + PER_ROUND)));
          await produce(log, "right", asRecords(sides.right.slice(at, at + PER_ROUND)));
          await waitCaughtUp(log, "expiring", ["left", "right"]);
        }
      } finally {
        await worker.stop();
      }

      // the join's pairs, by a nested loop here: same key, |tl - tr| <= 5 s (inner join)
      const want: string[] = [];
      for (const l of sides.left) {
        for (const r of sides.right) {
          if (l.k === r.k && Math.abs(l.t - r.t) <= BEFORE_AFTER) want.push(`${l.k}:${l.v}|${r.v}`);
        }
      }
      const joined = await readTopic(log, "joined", str, str);
      expect(new Set(joined.records.map((r) => `${r.key}:${r.value}`))).toEqual(new Set(want));

      const changelogs = (await log.admin.listTopics({ includeInternal: true })).filter((t) =>
        t.endsWith("-changelog"),
      );
      const configs = new Map<string, { cleanupPolicy: string; retentionMs: number }>();
      for (const t of changelogs) configs.set(t, (await log.admin.describeTopic(t)).config);
      const compacted = [...configs].filter(([, c]) => c.cleanupPolicy === "compact");
      const expiring = [...configs].filter(([, c]) => c.cleanupPolicy === "compact,delete");
      // the count of `right`: compacted; the join's two buffers and the windowed count: by time
      expect(compacted.length).toBe(1);
      expect(expiring.length).toBe(3);
      const retentions = expiring.map(([, c]) => c.retentionMs).sort((a, b) => a - b);
      // a join window keeps before + after + grace + 1 ms; a tumbling window size + grace
      expect(retentions).toEqual(
        [JOIN_RETENTION, JOIN_RETENTION, WINDOW].map((r) => r + DAY).sort((a, b) => a - b),
      );
      // the join buffers' changelogs: every buffered record once, not one tombstone
      const buffers = expiring.filter(([, c]) => c.retentionMs === JOIN_RETENTION + DAY);
      let buffered = 0;
      for (const [topic] of buffers) {
        const { records } = await readTopic(log, topic, Serdes.bytes(), Serdes.bytes());
        expect(records.filter((r) => r.value === null).length).toBe(0);
        buffered += records.length;
      }
      expect(buffered).toBe(sides.left.length + sides.right.length);
      expect(warnings.filter((w) => w.fields?.event === "changelog-config")).toEqual([]);

      // an app whose window changelog was made compacted only (before this change): warned
      const old = defineApp({
        applicationId: "old-app",
        topology: (b) => {
          b.stream<string, string>("left", { keySerde: str, valueSerde: str })
            .groupByKey()
            .windowedBy(TimeWindows.ofSizeWithNoGrace(WINDOW))
            .count({ storeName: "per-minute" });
        },
      });
      await log.admin.createTopic("old-app-per-minute-changelog", {
        partitions: 1,
        config: { cleanupPolicy: "compact" },
      });
      const again = runWorker(old, {
        log,
        stateDir: path.join(dir, "state-old"),
        warn: (message, fields) => warnings.push({ message, fields }),
      });
      await again.start();
      await again.stop();
      const warned = warnings.filter((w) => w.fields?.event === "changelog-config");
      expect(warned.length).toBe(1);
      expect(warned[0]!.message).toContain("'old-app-per-minute-changelog'");
      expect(warned[0]!.message).toContain(`retention.ms=${WINDOW + DAY}`);
    } finally {
      await log.close();
    }
  });
});
