import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CHANGELOG, collect, openLog, openLoggedStore, removeDir, tempDir } from "./helpers.js";

/** The changelog partition openLoggedStore writes. */
const PARTITION = 1;

/** The store's state after writeCommits, computed apart from the store. */
function written(): Map<string, string> {
  const m = new Map<string, string>();
  for (let k = 0; k < 50; k++) m.set(`k${k}`, `a${k}`);
  for (let k = 0; k < 25; k++) m.set(`k${k}`, `b${k}`);
  m.delete("k40");
  for (let k = 0; k < 10; k++) m.set(`k${k}`, `c${k}`);
  m.set("k60", "new");
  return m;
}

async function writeCommits(logDir: string, stateDir: string): Promise<void> {
  const client = await openLog(logDir);
  const store = await openLoggedStore({ client, stateDir });
  try {
    for (let k = 0; k < 50; k++) store.put(`k${k}`, `a${k}`);
    await store.commit();
    for (let k = 0; k < 25; k++) store.put(`k${k}`, `b${k}`);
    store.delete("k40");
    await store.commit();
    // The last commit's batch is the one the disk tears.
    for (let k = 0; k < 10; k++) store.put(`k${k}`, `c${k}`);
    store.put("k60", "new");
    await store.commit();
  } finally {
    await store.close();
    await client.close();
  }
}

/**
 * A changelog segment cut in the middle of its last batch (a torn write the disk did not
 * keep, with or without the log's clean-shutdown marker). The log truncates the torn batch
 * but keeps its end offset and reports the missing range as damage (below its recovery
 * point). A RocksDB store whose local state covers that range reopens with all its data;
 * a store without local state must not restore a state silently missing a commit: its
 * restore fails, naming the damaged changelog.
 */
describe("a changelog cut mid-batch", () => {
  let root: string;
  beforeEach(() => {
    root = tempDir("cut-changelog");
  });
  afterEach(() => removeDir(root));

  it.each([
    ["after a crash (no clean-shutdown marker)", false],
    ["with a clean-shutdown marker left in place", true],
  ])("keeps local state and fails a restore from scratch, %s", async (_, keepMarker) => {
    const logDir = path.join(root, "log");
    const stateDir = path.join(root, "state");
    await writeCommits(logDir, stateDir);

    const partitionDir = path.join(logDir, `${CHANGELOG}-${PARTITION}`);
    const segment = path.join(partitionDir, "00000000000000000000.log");
    const size = fs.statSync(segment).size;
    fs.truncateSync(segment, size - 40);
    if (!keepMarker) fs.rmSync(path.join(partitionDir, ".clean-shutdown"), { force: true });

    const client = await openLog(logDir);
    try {
      // The store's local state covers the lost batch: it reopens with all three commits
      // and nothing to restore (its offset is the changelog's end, which the log keeps).
      const store = await openLoggedStore({ client, stateDir });
      try {
        expect(store.restored).toMatchObject({ from: 87, to: 87, records: 0 });
        expect(await collect(store.all())).toEqual(written());
      } finally {
        await store.close();
      }

      // A worker without that local state (another machine, a deleted state dir) must not
      // restore a state silently missing the third commit: the restore fails naming the damage.
      removeDir(stateDir);
      const error = await openLoggedStore({ client, stateDir: path.join(root, "fresh") }).then(
        async (s) => {
          const state = await collect(s.all());
          await s.close();
          return `restored ${state.size} keys without an error`;
        },
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect(String((error as Error).message)).toMatch(/below the recovery point 87/);
      expect(String((error as Error).message)).toContain(CHANGELOG);
    } finally {
      await client.close();
    }
  });
});
