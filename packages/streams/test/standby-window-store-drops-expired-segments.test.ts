import fs from "node:fs";
import path from "node:path";
import { type LogClient, openEmbeddedLog } from "@tributary/log";
import { openWindowStore, type WindowStore } from "@tributary/state";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defineApp, Serdes, TimeWindows } from "../src/index.js";
import { StandbyTask } from "../src/runtime/standby-task.js";
import { tempDir } from "./runtime-helpers.js";

/**
 * A standby replica of a window store applies its changelog, which carries no tombstones
 * for expired windows (the active store drops whole segments): it must drop the expired
 * segments itself, by the same retention, or it grows without bound and a promoted
 * standby answers windows the active no longer holds. Real RocksDB on both sides, the
 * changelog on a real embedded log; the standby is the runtime's StandbyTask, fed as the
 * worker feeds it (a consumer's fetches, one `apply` per fetch).
 */
const MIN = 60_000;
const APP = "standby-windows";
const KEYS = ["a", "b", "c", "d", "e"];
const str = Serdes.string();

const app = defineApp({
  applicationId: APP,
  topology: (b) => {
    b.stream<string, string>("clicks", { keySerde: str, valueSerde: str })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(MIN, MIN / 2))
      .count({ storeName: "per-minute" });
  },
});
const sub = app.build().subtopologies.find((s) => s.stores.some((st) => st.type === "window"))!;
const spec = sub.stores.find((s) => s.type === "window")!;

/** Every entry of a RocksDB engine-like range, as hex `key=value`, in key order. */
async function entries(range: AsyncIterable<{ key: Buffer; value: Buffer }>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of range) out.push(`${e.key.toString("hex")}=${e.value.toString("hex")}`);
  return out;
}

describe("a standby replica of a window store", () => {
  let root: string;
  let log: LogClient;
  const closers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    root = tempDir("standby-window");
    log = await openEmbeddedLog(path.join(root, "log"), { maintenanceIntervalMs: 0 });
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
    await log.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const openActive = async (stateDir: string): Promise<WindowStore<unknown, unknown>> => {
    const s = await openWindowStore<unknown, unknown>({
      applicationId: APP,
      taskId: sub.taskId(0),
      name: spec.name,
      engine: "rocksdb",
      stateDir,
      keySerde: spec.keySerde,
      valueSerde: spec.valueSerde,
      retentionMs: spec.retentionMs!,
      changelog: { client: log, partition: 0, createWithPartitions: 1 },
    });
    closers.push(() => s.close());
    return s;
  };

  /** Reads the changelog from the standby's checkpoint to its end, applying each fetch. */
  const catchUp = async (standby: StandbyTask) => {
    const store = standby.stores.get(spec.name)!;
    const tp = store.changelog;
    const [end] = await log.admin.listOffsets(tp.topic, "latest");
    // small fetches: the standby applies the changelog in many chunks, dropping as it goes
    const consumer = log.consumer({ clientId: "standby-test", maxPollBytes: 512 });
    try {
      consumer.assign([tp]);
      const [at] = await standby.positions(log);
      consumer.seek(tp, at!.offset);
      while ((consumer.position(tp) ?? 0) < end!.offset) {
        for (const f of await consumer.poll({ maxWaitMs: 100 })) {
          await standby.apply(store, f, consumer.position(tp)!);
        }
      }
    } finally {
      await consumer.close();
    }
  };

  it("drops the expired segments as the active store does, and promoted answers the same windows", async () => {
    const active = await openActive(path.join(root, "active"));
    const standbyDir = path.join(root, "standby");
    expect(spec.changelogTopic).toBe(`${APP}-${spec.name}-changelog`);

    // the reference, counted here: every window's count
    const counts = new Map<string, number>();
    const put = async (rounds: number, from: number) => {
      for (let r = from; r < from + rounds; r++) {
        await active.prefetch(KEYS);
        for (const [i, key] of KEYS.entries()) {
          const start = Math.floor((r * 20_000 + i * 1000) / MIN) * MIN;
          const n = (counts.get(`${key}@${start}`) ?? 0) + 1;
          active.put(key, start, n);
          counts.set(`${key}@${start}`, n);
        }
        await active.commit();
      }
    };

    const standby = await StandbyTask.open(sub, 0, {
      applicationId: APP,
      stateDir: standbyDir,
      log,
      warn: (m) => {
        throw new Error(`unexpected warning: ${m}`);
      },
    });
    let standbyOpen = true;
    closers.push(async () => {
      if (standbyOpen) await standby.close();
    });
    const standbyStore = standby.stores.get(spec.name)!;
    expect(standbyStore.expiry?.retentionMs).toBe(spec.retentionMs);
    // 40 rounds, 20 s of event time each: 13 minutes, the retention 1.5
    for (let part = 0; part < 4; part++) {
      await put(10, part * 10);
      await catchUp(standby);
      // the same entries below as the active's engine: expired segments dropped on both
      expect(await entries(standbyStore.engine.range())).toEqual(
        await entries(active.segments.bytes.range()),
      );
    }
    const observed = active.observedTime;
    const line = observed - spec.retentionMs!;
    const live = [...counts].filter(([w]) => Number(w.split("@")[1]) > line);
    const below = await entries(standbyStore.engine.range());
    // something was dropped: of the 14 minute-windows per key, about the last 2.5 are left
    expect(below.length).toBeLessThan(counts.size / 2);
    expect(below.length).toBeGreaterThanOrEqual(live.length);

    // the active goes on without the standby reading: promotion restores only this tail
    await put(5, 40);
    const tail = 5 * KEYS.length;
    const checkpoint = standbyStore.engine.changelogOffset;
    await standby.close();
    standbyOpen = false;
    const promoted = await openActive(standbyDir);
    expect(promoted.restored?.from).toBe(checkpoint);
    expect(promoted.restored?.records).toBe(tail);

    const windows = async (s: WindowStore<unknown, unknown>) => {
      const out = new Map<string, unknown>();
      for await (const w of s.all()) out.set(`${w.key}@${w.start}`, w.value);
      return out;
    };
    const want = new Map(
      [...counts].filter(
        ([w]) => Number(w.split("@")[1]) > active.observedTime - spec.retentionMs!,
      ),
    );
    expect(await windows(active)).toEqual(want);
    expect(await windows(promoted)).toEqual(want);
    await promoted.prefetch(KEYS);
    await active.prefetch(KEYS);
    for (const key of KEYS) {
      expect(promoted.fetchRange(key, 0, 60 * MIN)).toEqual(active.fetchRange(key, 0, 60 * MIN));
    }
    // and after its first commit the promoted store holds what the active holds below
    await promoted.commit();
    expect(await entries(promoted.segments.bytes.range())).toEqual(
      await entries(active.segments.bytes.range()),
    );
  });
});
