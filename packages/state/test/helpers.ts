import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LogClient, LogRecord } from "@tributary/log";
import { openEmbeddedLog } from "@tributary/log";
import type { StoreSerde } from "../src/key-value-store.js";
import { openKeyValueStore } from "../src/store-builder.js";

/** Shared helpers for the state tests: temp dirs, simple serdes, a real embedded log. */

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tributary-state-${prefix}-`));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export const stringSerde: StoreSerde<string | null> = {
  serialize: (v) => (v === null ? null : Buffer.from(v, "utf8")),
  deserialize: (b) => (b === null ? null : b.toString("utf8")),
};

export const bytesSerde: StoreSerde<Buffer | null> = {
  serialize: (v) => v,
  deserialize: (b) => b,
};

export function openLog(dataDir: string): Promise<LogClient> {
  return openEmbeddedLog(dataDir, { maintenanceIntervalMs: 0 });
}

/** Reads a whole partition from `from` up to its current end, in order. */
export async function readPartition(
  client: LogClient,
  topic: string,
  partition: number,
  from = 0,
): Promise<LogRecord[]> {
  const latest = await client.admin.listOffsets(topic, "latest");
  const end = latest.find((o) => o.partition === partition)?.offset ?? 0;
  const out: LogRecord[] = [];
  if (from >= end) return out;
  const consumer = client.consumer({ clientId: "test-reader" });
  const tp = { topic, partition };
  try {
    consumer.assign([tp]);
    consumer.seek(tp, from);
    let guard = 0;
    while ((consumer.position(tp) ?? from) < end && guard++ < 1000) {
      for (const f of await consumer.poll({ maxWaitMs: 100 })) {
        for (const r of f.records) {
          if (r.offset < end) {
            out.push({
              ...r,
              key: r.key === null ? null : Buffer.from(r.key),
              value: r.value === null ? null : Buffer.from(r.value),
            });
          }
        }
      }
    }
  } finally {
    await consumer.close();
  }
  return out;
}

/** Folds changelog records into the key → value state they describe (latest wins). */
export function foldChangelog(records: readonly LogRecord[]): Map<string, string> {
  const state = new Map<string, string>();
  for (const r of records) {
    const k = (r.key as Buffer).toString("utf8");
    if (r.value === null) state.delete(k);
    else state.set(k, r.value.toString("utf8"));
  }
  return state;
}

/** Every entry of an async iterable of [key, value] string pairs, as a Map. */
export async function collect(
  entries: AsyncIterable<[string | null, string | null]>,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const [k, v] of entries) out.set(k as string, v as string);
  return out;
}

export interface LoggedStoreOptions {
  client: import("@tributary/log").LogClient;
  stateDir: string;
  engine?: "rocksdb" | "memory";
  cacheBytes?: number;
  name?: string;
  partition?: number;
  warn?: (message: string) => void;
  onRestoreProgress?: (done: number, total: number) => void;
  commitThresholdBytes?: number;
}

/** A string store with a changelog on a 2-partition topic, writing partition 1 by default. */
export function openLoggedStore(
  o: LoggedStoreOptions,
): Promise<import("../src/key-value-store.js").KeyValueStore<string | null, string>> {
  return openKeyValueStore<string | null, string>({
    applicationId: "app",
    taskId: `0_${o.partition ?? 1}`,
    name: o.name ?? "store",
    engine: o.engine ?? "rocksdb",
    stateDir: o.stateDir,
    cacheBytes: o.cacheBytes ?? 4096,
    keySerde: stringSerde,
    valueSerde: stringSerde,
    changelog: { client: o.client, partition: o.partition ?? 1, createWithPartitions: 2 },
    ...(o.warn === undefined ? {} : { warn: o.warn }),
    ...(o.onRestoreProgress === undefined ? {} : { onRestoreProgress: o.onRestoreProgress }),
    ...(o.commitThresholdBytes === undefined
      ? {}
      : { commitThresholdBytes: o.commitThresholdBytes }),
  });
}

export const CHANGELOG = "app-store-changelog";

/**
 * Starts a fixture (`node --import tsx <script> <args…>`) with its output piped: its
 * stderr collects in `stderr`, `exited` resolves when it ends, however it ends.
 */
export function startFixture(
  script: string,
  args: readonly string[],
): { child: ChildProcess; stderr: string[]; exited: Promise<void> } {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: path.join(import.meta.dirname, ".."),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stderr: string[] = [];
  child.stderr?.on("data", (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { child, stderr, exited };
}

/** Starts a writer fixture (`node --import tsx <writer> <logDir> <stateDir>`, printing
 * `started <i>` and `committed <i>`) and SIGKILLs it once it has acknowledged `acks` commits, plus a random delay. */
export async function runAndKill(
  writer: string,
  logDir: string,
  stateDir: string,
  acks: number,
): Promise<{ started: number; lastAck: number }> {
  const { child, stderr: errors, exited } = startFixture(writer, [logDir, stateDir]);
  const stderr = () => errors.join("");
  let started = -1;
  let lastAck = -1;
  let seen = 0;
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
      if (signal !== "SIGKILL")
        reject(new Error(`writer exited (${code}, ${signal}): ${stderr()}`));
    });
  });
  await exited;
  return { started, lastAck };
}
