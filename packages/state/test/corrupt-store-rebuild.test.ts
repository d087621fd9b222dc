import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { LogClient } from "@tributary/log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StateStoreError } from "../src/errors.js";
import { collect, openLog, openLoggedStore, removeDir, tempDir } from "./helpers.js";

describe("corrupt store directory", () => {
  let root: string;
  let stateDir: string;
  let storeDir: string;
  let client: LogClient;
  const expected = new Map<string, string>();

  beforeEach(async () => {
    root = tempDir("corrupt");
    stateDir = path.join(root, "state");
    storeDir = path.join(stateDir, "app", "0_1", "store");
    client = await openLog(path.join(root, "log"));
    const store = await openLoggedStore({ client, stateDir });
    expected.clear();
    for (let i = 0; i < 300; i++) {
      store.put(`k${i}`, `v${i}`);
      expected.set(`k${i}`, `v${i}`);
    }
    await store.commit();
    await store.close();
  });
  afterEach(async () => {
    await client.close();
    removeDir(root);
  });

  const asideDirs = () =>
    fs.readdirSync(path.dirname(storeDir)).filter((n) => n.startsWith("store~corrupt-"));

  async function expectRebuilt(): Promise<void> {
    const warnings: string[] = [];
    const store = await openLoggedStore({ client, stateDir, warn: (m) => warnings.push(m) });
    try {
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /store 'store'.*moved it aside to .*store~corrupt-\d+.*rebuilding/,
      );
      expect(asideDirs()).toHaveLength(1);
      expect(store.restored?.records).toBe(300);
      expect(await collect(store.all())).toEqual(expected);
    } finally {
      await store.close();
    }
    // Rebuilt for good: the next open is quiet and replays nothing.
    const again = await openLoggedStore({ client, stateDir, warn: (m) => warnings.push(m) });
    await again.close();
    expect(warnings).toHaveLength(1);
    expect(again.restored?.records).toBe(0);
  }

  it("moves aside a store whose files hold garbage and rebuilds it from the changelog", async () => {
    for (const name of fs.readdirSync(storeDir)) {
      const file = path.join(storeDir, name);
      if (name === "LOCK" || !fs.statSync(file).isFile()) continue;
      fs.writeFileSync(file, Buffer.from("this is not a RocksDB file\n".repeat(20)));
    }
    await expectRebuilt();
  });

  it("moves aside a RocksDB database of another format (data, no store format entry)", async () => {
    removeDir(storeDir);
    const rocksdb = createRequire(import.meta.url)("rocksdb");
    const db = rocksdb(storeDir);
    await new Promise<void>((res, rej) => db.open({}, (e: unknown) => (e ? rej(e) : res())));
    await new Promise<void>((res, rej) =>
      db.put(Buffer.from("foreign"), Buffer.from("x"), (e: unknown) => (e ? rej(e) : res())),
    );
    await new Promise<void>((res, rej) => db.close((e: unknown) => (e ? rej(e) : res())));
    await expectRebuilt();
  });

  it("does not move aside a store that is merely open elsewhere", async () => {
    const first = await openLoggedStore({ client, stateDir });
    try {
      const warnings: string[] = [];
      const err = await openLoggedStore({ client, stateDir, warn: (m) => warnings.push(m) }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StateStoreError);
      // callers (the streams runtime waits and retries) branch on the code, not the text
      expect((err as StateStoreError).code).toBe("STORE_LOCKED");
      expect((err as StateStoreError).retriable).toBe(true);
      expect((err as Error).message).toMatch(/open in another process/);
      expect(warnings).toEqual([]);
      expect(asideDirs()).toEqual([]);
    } finally {
      await first.close();
    }
  });
});
