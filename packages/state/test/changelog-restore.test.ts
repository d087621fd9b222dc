import fs from "node:fs";
import path from "node:path";
import type { LogClient } from "@tributary/log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CHANGELOG,
  collect,
  foldChangelog,
  openLog,
  openLoggedStore,
  readPartition,
  removeDir,
  tempDir,
} from "./helpers.js";

describe("changelog and restore", () => {
  let root: string;
  let stateDir: string;
  let client: LogClient;

  beforeEach(async () => {
    root = tempDir("restore");
    stateDir = path.join(root, "state");
    client = await openLog(path.join(root, "log"));
  });
  afterEach(async () => {
    await client.close();
    removeDir(root);
  });

  /** Deterministic mixed workload; returns the state it should leave. */
  async function writeWorkload(
    store: Awaited<ReturnType<typeof openLoggedStore>>,
    expected: Map<string, string>,
    rounds: number,
    seed: number,
  ): Promise<void> {
    let x = seed;
    for (let round = 0; round < rounds; round++) {
      const keys: string[] = [];
      for (let i = 0; i < 200; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        keys.push(`key-${x % 700}`);
      }
      await store.prefetch(keys);
      for (const [i, k] of keys.entries()) {
        if (i % 9 === 0) {
          store.delete(k);
          expected.delete(k);
        } else {
          const v = `${store.get(k) ?? ""}|${round}.${i}`.slice(-40);
          store.put(k, v);
          expected.set(k, v);
        }
      }
      await store.commit();
    }
  }

  it("rebuilds identical contents from the changelog after the local directory is wiped", async () => {
    const expected = new Map<string, string>();
    let store = await openLoggedStore({ client, stateDir });
    expect(store.restored).toEqual({ from: 0, to: 0, records: 0 });
    await writeWorkload(store, expected, 10, 1);
    const offset = store.changelogOffset;
    await store.close();

    const changelog = await readPartition(client, CHANGELOG, 1);
    expect(offset).toBe(changelog.length);
    expect(foldChangelog(changelog)).toEqual(expected);
    expect(await readPartition(client, CHANGELOG, 0)).toEqual([]);

    removeDir(stateDir);
    const progress: [number, number][] = [];
    store = await openLoggedStore({
      client,
      stateDir,
      onRestoreProgress: (done, total) => progress.push([done, total]),
    });
    try {
      expect(store.restored).toEqual({ from: 0, to: changelog.length, records: changelog.length });
      expect(store.changelogOffset).toBe(changelog.length);
      expect(await collect(store.all())).toEqual(expected);
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.at(-1)).toEqual([changelog.length, changelog.length]);
      for (let i = 1; i < progress.length; i++) {
        expect(progress[i]?.[0]).toBeGreaterThan(progress[i - 1]?.[0] as number);
      }
    } finally {
      await store.close();
    }
  });

  it("replays only the changelog tail past the offset stored with the data", async () => {
    const expected = new Map<string, string>();
    let store = await openLoggedStore({ client, stateDir });
    await writeWorkload(store, expected, 5, 2);
    const stored = store.changelogOffset as number;
    await store.close();

    // Another writer of the same changelog partition (as a crash after the append and
    // before the local write leaves it): 7 records the local store has not seen.
    const producer = client.producer();
    const tail = Array.from({ length: 7 }, (_, i) => ({
      key: Buffer.from(`key-${i}`),
      value: i === 3 ? null : Buffer.from(`tail-${i}`),
      partition: 1,
    }));
    await producer.send(CHANGELOG, tail);
    await producer.close();
    for (let i = 0; i < tail.length; i++) {
      if (i === 3) expected.delete(`key-${i}`);
      else expected.set(`key-${i}`, `tail-${i}`);
    }

    store = await openLoggedStore({ client, stateDir });
    try {
      expect(store.restored).toEqual({ from: stored, to: stored + 7, records: 7 });
      expect(store.changelogOffset).toBe(stored + 7);
      expect(await collect(store.all())).toEqual(expected);
    } finally {
      await store.close();
    }

    store = await openLoggedStore({ client, stateDir });
    try {
      expect(store.restored).toEqual({ from: stored + 7, to: stored + 7, records: 0 });
    } finally {
      await store.close();
    }
  });

  it("restores a memory store from the start every time it opens", async () => {
    const expected = new Map<string, string>();
    let store = await openLoggedStore({ client, stateDir, engine: "memory" });
    await writeWorkload(store, expected, 3, 3);
    const end = store.changelogOffset as number;
    await store.close();
    store = await openLoggedStore({ client, stateDir, engine: "memory" });
    try {
      expect(store.restored).toEqual({ from: 0, to: end, records: end });
      expect(await collect(store.all())).toEqual(expected);
    } finally {
      await store.close();
    }
  });

  it("drops local state whose offset lies beyond a recreated changelog, with a warning, and restores from the start", async () => {
    const expected = new Map<string, string>();
    let store = await openLoggedStore({ client, stateDir });
    await writeWorkload(store, expected, 3, 4);
    await store.close();

    await client.admin.deleteTopic(CHANGELOG);
    await client.admin.createTopic(CHANGELOG, {
      partitions: 2,
      config: { cleanupPolicy: "compact" },
    });
    const producer = client.producer();
    await producer.send(CHANGELOG, [
      { key: Buffer.from("fresh"), value: Buffer.from("1"), partition: 1 },
    ]);
    await producer.close();

    const warnings: string[] = [];
    store = await openLoggedStore({ client, stateDir, warn: (m) => warnings.push(m) });
    try {
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/recreated or truncated/);
      expect(store.restored).toEqual({ from: 0, to: 1, records: 1 });
      expect(await collect(store.all())).toEqual(new Map([["fresh", "1"]]));
      expect(fs.existsSync(path.join(stateDir, "app", "0_1", "store"))).toBe(true);
    } finally {
      await store.close();
    }
  });
});
