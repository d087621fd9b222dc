import path from "node:path";
import type { LogClient } from "@tributary/log";
import { afterEach, beforeEach } from "vitest";
import type { CommitBarrier } from "../src/commit-barrier.js";
import type { StoreSerde } from "../src/key-value-store.js";
import {
  openWindowStore,
  type WindowStore,
  type WindowStoreOptions,
} from "../src/window/window-store.js";
import { openLog, removeDir, stringSerde, tempDir } from "./helpers.js";

/**
 * The set-up the store tests share: each test gets a fresh temp `root` and a real embedded
 * log on `<root>/log` (`client`, which a test may close and replace); every store it
 * `track`s is closed after it, whatever its outcome, then the log, then the root goes.
 */
export class StoreFixture {
  root = "";
  client!: LogClient;
  private readonly stores: { close(): Promise<void> }[] = [];

  /** Where a store's state goes unless a test says otherwise. */
  get stateDir(): string {
    return path.join(this.root, "state");
  }

  /** Closes `store` after the test (unless `untrack`ed first); returns it. */
  track<S extends { close(): Promise<void> }>(store: S): S {
    this.stores.push(store);
    return store;
  }

  /** Forgets the stores tracked so far: the test closed them itself. */
  untrack(): void {
    this.stores.length = 0;
  }

  /** Closes the tracked stores; `quiet` (after a test) ignores a close that fails. */
  async closeAll(quiet = true): Promise<void> {
    for (const s of this.stores.splice(0)) {
      if (quiet) await s.close().catch(() => {});
      else await s.close();
    }
  }
}

/** Registers the fixture's per-test hooks in the enclosing describe (or file). */
export function storeFixture(prefix: string): StoreFixture {
  const fx = new StoreFixture();
  beforeEach(async () => {
    fx.root = tempDir(prefix);
    fx.client = await openLog(path.join(fx.root, "log"));
  });
  afterEach(async () => {
    await fx.closeAll();
    await fx.client.close();
    removeDir(fx.root);
  });
  return fx;
}

/** A test window store's options beyond the defaults of `openTestWindowStore`. */
export type TestWindowOptions = Partial<
  Omit<WindowStoreOptions<string | null, unknown>, "keySerde" | "valueSerde" | "changelog">
> & {
  retentionMs: number;
  /** Changelog partition 0 of a 1-partition topic (task 0_0), or 1 of 2 (task 0_1). */
  partition?: 0 | 1;
  barrier?: CommitBarrier;
  /** Not closed by the fixture (the test closes it). */
  untracked?: boolean;
};

/**
 * A window store of application "app" with string keys, `valueSerde` values (strings by
 * default), on RocksDB, under the fixture's state dir, change-logged to the fixture's log:
 * what the window-store tests open, each overriding what it is about.
 */
export async function openTestWindowStore<V = string>(
  fx: StoreFixture,
  options: TestWindowOptions,
  valueSerde: StoreSerde<V | null> = stringSerde as StoreSerde<V | null>,
): Promise<WindowStore<string | null, V>> {
  const { partition = 0, barrier, untracked, ...rest } = options;
  const store = await openWindowStore<string | null, V>({
    applicationId: "app",
    taskId: `0_${partition}`,
    name: "windows",
    engine: "rocksdb",
    stateDir: fx.stateDir,
    ...rest,
    keySerde: stringSerde,
    valueSerde,
    changelog: {
      client: fx.client,
      partition,
      createWithPartitions: partition + 1,
      ...(barrier === undefined ? {} : { barrier }),
    },
  });
  return untracked === true ? store : fx.track(store);
}

/**
 * Every entry of a window store below its typed layer (no time filter: what the engine
 * holds), as `key@time`, sorted.
 */
export async function engineWindowEntries(store: WindowStore<unknown, unknown>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.segments.bytes.range()) {
    const len = e.key.readUInt32BE(8);
    const time = Number(e.key.readBigInt64BE(12 + len));
    out.push(`${e.key.toString("latin1", 12, 12 + len)}@${time}`);
  }
  return out.sort();
}

/** One store commit through a barrier round: appended, released (the transaction committed). */
export async function commitReleased(
  store: { commit(): Promise<void> },
  barrier: CommitBarrier,
): Promise<void> {
  const commit = store.commit();
  await barrier.appended();
  barrier.release();
  await commit;
}
