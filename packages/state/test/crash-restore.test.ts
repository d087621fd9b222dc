import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RocksDbEngine } from "../src/rocksdb/rocksdb-engine.js";
import { COMMIT_KEY, stateAfter } from "./fixtures/crash-workload.js";
import {
  CHANGELOG,
  collect,
  foldChangelog,
  openLog,
  openLoggedStore,
  readPartition,
  removeDir,
  runAndKill,
  tempDir,
} from "./helpers.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const WRITER = path.join(here, "fixtures", "crash-writer.ts");
// scripts/fault-loops.sh runs many more cycles through this variable.
const CYCLES = Number(process.env.TRIBUTARY_FAULT_ROUNDS ?? 8);

describe("crash (SIGKILL) during writes and commits", () => {
  let root: string;

  beforeEach(() => {
    root = tempDir("crash");
  });
  afterEach(() => removeDir(root));

  it(
    "always reopens at the state of a whole commit, at or after the last acknowledged one",
    async () => {
      const logDir = path.join(root, "log");
      const stateDir = path.join(root, "state");
      const storeDir = path.join(stateDir, "app", "0_1", "store");
      let previousAck = 0;
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const acks = 3 + Math.floor(Math.random() * 25);
        const { started, lastAck } = await runAndKill(WRITER, logDir, stateDir, acks);
        // The writer resumed from a commit at least as new as the last one acknowledged.
        expect(started).toBeGreaterThanOrEqual(previousAck);
        expect(lastAck).toBeGreaterThanOrEqual(started + acks);

        // Local state before restore: its data is exactly the changelog folded up to the
        // offset stored with it (never torn between data and offset).
        const engine = await RocksDbEngine.open(storeDir, "store");
        const localOffset = engine.changelogOffset as number;
        const local = new Map<string, string>();
        for await (const e of engine.range()) local.set(e.key.toString(), e.value.toString());
        await engine.close();

        const client = await openLog(logDir);
        try {
          const changelog = await readPartition(client, CHANGELOG, 1);
          expect(localOffset).toBeGreaterThan(0);
          expect(localOffset).toBeLessThanOrEqual(changelog.length);
          expect(local).toEqual(foldChangelog(changelog.slice(0, localOffset)));

          // The changelog holds whole commits only, the last at or after the last ack.
          const logged = foldChangelog(changelog);
          const m = Number(logged.get(COMMIT_KEY));
          expect(m).toBeGreaterThanOrEqual(lastAck);
          expect(logged).toEqual(stateAfter(m));

          // Restore replays only the tail and lands on exactly that commit's state.
          const store = await openLoggedStore({ client, stateDir });
          try {
            expect(store.restored).toEqual({
              from: localOffset,
              to: changelog.length,
              records: changelog.length - localOffset,
            });
            expect(await collect(store.all())).toEqual(stateAfter(m));
          } finally {
            await store.close();
          }
          previousAck = lastAck;
        } finally {
          await client.close();
        }
      }
    },
    Math.max(120_000, CYCLES * 15_000),
  );
});
