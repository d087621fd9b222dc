import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  type LogClient,
  type LogRecord,
  openEmbeddedLog,
  type ProducerRecord,
} from "@tributary/log";
import {
  LoggedMemoryKeyValueStore,
  openKeyValueStore,
  openWindowStore,
  PersistentWindowStore,
} from "@tributary/state";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defineApp, Serdes, StreamTask } from "../src/index.js";
import type { StoreSpec } from "../src/topology/node-spec.js";
import { untilWindowCloses } from "../src/windows/suppressed.js";
import { TimeWindows } from "../src/windows/time-windows.js";
import { windowedSerde } from "../src/windows/windowed.js";
import { str } from "./helpers.js";
import { MINUTE, pageViews, SECOND, type View } from "./windows-helpers.js";

// The windowed count and its suppression buffer on real stores — RocksDB window store and
// the in-memory buffer, both change-logged to an embedded log — run by a StreamTask the
// way the worker runs one (prefetch, process the batch, flush and commit every store).
// The local state is deleted at the restart, so everything comes back from changelogs.

const SIZE = MINUTE;
const GRACE = 10 * SECOND;
const wkey = windowedSerde(str);

const app = defineApp({
  applicationId: "real",
  topology: (b) => {
    b.stream<string, View>("views", { keySerde: str, valueSerde: Serdes.json<View>() })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(SIZE, GRACE))
      .count({ storeName: "per-user" })
      .suppress(untilWindowCloses({ name: "final" }))
      .toStream()
      .to("final-counts", { keySerde: wkey, valueSerde: Serdes.msgpack<number>() });
  },
});

type RuntimeStore = (
  | PersistentWindowStore<unknown, unknown>
  | LoggedMemoryKeyValueStore<unknown, unknown>
) & {
  prefetchBytes(keys: readonly Buffer[]): Promise<void>;
};

describe("suppression on real change-logged stores", () => {
  let root: string;
  let log: LogClient;

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-suppress-real-"));
    log = await openEmbeddedLog(path.join(root, "log"), { maintenanceIntervalMs: 0 });
  });
  afterEach(async () => {
    await log.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function openStores(stateDir: string): Promise<Map<string, RuntimeStore>> {
    const sub = app.build().subtopologies[0]!;
    const stores = new Map<string, RuntimeStore>();
    for (const spec of sub.stores as StoreSpec[]) {
      const common = {
        applicationId: "real",
        taskId: "0_0",
        name: spec.name,
        engine: "rocksdb" as const,
        stateDir,
        cacheBytes: 64 * 1024,
        changelog: { client: log, partition: 0, createWithPartitions: 1 },
      };
      if (spec.type === "window") {
        const inner = await openWindowStore<unknown, unknown>({
          ...common,
          keySerde: spec.keySerde,
          valueSerde: spec.valueSerde,
          retentionMs: spec.retentionMs!,
        });
        stores.set(spec.name, new PersistentWindowStore(inner));
      } else {
        expect(spec.inMemory).toBe(true);
        const inner = await openKeyValueStore<unknown, unknown>({
          ...common,
          keySerde: spec.keySerde,
          valueSerde: spec.valueSerde,
        });
        stores.set(
          spec.name,
          await LoggedMemoryKeyValueStore.open(inner, spec.keySerde, spec.valueSerde),
        );
      }
    }
    return stores;
  }

  async function run(events: readonly View[], stateDir: string, firstOffset: number) {
    const stores = await openStores(stateDir);
    const out: ProducerRecord[] = [];
    const task = new StreamTask({
      applicationId: "real",
      subtopology: app.build().subtopologies[0]!,
      partition: 0,
      collector: { send: (topic, r) => (topic === "final-counts" ? out.push(r) : undefined) },
      openStore: (spec) => stores.get(spec.name)!,
      errorHandling: "fail",
      deadLetterTopic: "real-dlq",
    });
    const json = Serdes.json<View>();
    for (let i = 0; i < events.length; i += 500) {
      const batch: LogRecord[] = events.slice(i, i + 500).map((v, j) => ({
        offset: firstOffset + i + j,
        timestamp: v.ts,
        key: Buffer.from(v.user),
        value: json.serialize(v),
        headers: {},
      }));
      const keys = batch.map((r) => r.key as Buffer);
      await Promise.all([...stores.values()].map((s) => s.prefetchBytes(keys)));
      task.processBatch("views", 0, batch);
      for (const s of stores.values()) s.flush();
      await Promise.all([...stores.values()].map((s) => s.commit()));
    }
    task.close();
    await Promise.all([...stores.values()].map((s) => s.closed()));
    return out.map((r) => {
      const k = wkey.deserialize(r.key as Buffer);
      return [
        `${k.key}@${k.window.start}`,
        Serdes.msgpack<number>().deserialize(r.value as Buffer),
      ] as const;
    });
  }

  it("emits every closed window once with its reference count, across a restart that lost its local state", async () => {
    const views = pageViews(6000, {
      seed: 21,
      users: 25,
      stepMs: 400,
      slightlyLate: 0.08,
      veryLate: 0.01,
    });
    const counts = new Map<string, number>();
    let streamTime = -1;
    for (const v of views) {
      streamTime = Math.max(streamTime, v.ts);
      const start = Math.floor(v.ts / SIZE) * SIZE;
      if (start + SIZE + GRACE <= streamTime) continue;
      const k = `${v.user}@${start}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const expected = new Map(
      [...counts].filter(([k]) => Number(k.split("@")[1]) + SIZE + GRACE <= streamTime),
    );

    // restart at a batch boundary where the record is the newest so far (stream time,
    // which a restarted task starts over, then agrees with an uninterrupted run)
    let cut = 3000;
    let max = -1;
    for (let i = 0; i < cut; i++) max = Math.max(max, views[i]!.ts);
    while (views[cut]!.ts < max) cut++;

    const first = await run(views.slice(0, cut), path.join(root, "state-1"), 0);
    const second = await run(views.slice(cut), path.join(root, "state-2"), cut);
    const all = [...first, ...second];
    expect(all.length).toBe(new Set(all.map(([k]) => k)).size);
    expect(new Map(all)).toEqual(expected);
    expect(first.length).toBeGreaterThan(50);
    expect(second.length).toBeGreaterThan(50);
  });
});
