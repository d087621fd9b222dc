import { type ChildProcess, spawn } from "node:child_process";
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
  tempDir,
} from "./helpers.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const WRITER = path.join(here, "fixtures", "crash-writer.ts");
// scripts/fault-loops.sh runs many more cycles through this variable.
const CYCLES = Number(process.env.TRIBUTARY_FAULT_ROUNDS ?? 8);

/** Starts the writer and SIGKILLs it once it has acknowledged `acks` commits, plus a random delay. */
async function runAndKill(
  logDir: string,
  stateDir: string,
  acks: number,
): Promise<{ started: number; lastAck: number }> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", WRITER, logDir, stateDir],
    {
      cwd: path.join(here, ".."),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let started = -1;
  let lastAck = -1;
  let seen = 0;
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let buffered = "";
    child.stdout?.on("data", (d: Buffer) => {
      buffered += d.toString();
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const [word, n] = buffered.slice(0, nl).split(" ");
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
        if (word === "started") started = Number(n);
        if (word === "committed") {
          lastAck = Number(n);
          if (++seen === acks) {
            // Kill at a random point of a later commit, not at an acknowledgement.
            setTimeout(
              () => {
                child.kill("SIGKILL");
                resolve();
              },
              Math.floor(Math.random() * 15),
            );
          }
        }
      }
    });
    child.once("exit", (code, signal) => {
      if (signal !== "SIGKILL") reject(new Error(`writer exited (${code}, ${signal}): ${stderr}`));
    });
  });
  await exited;
  return { started, lastAck };
}

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
        const { started, lastAck } = await runAndKill(logDir, stateDir, acks);
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
