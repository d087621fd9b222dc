import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as readline from "node:readline";
import { afterAll, beforeAll } from "vitest";
import { connectBroker } from "../src/broker/connect-broker.js";
import type { LogClient } from "../src/log-client.js";

/**
 * Shared helpers for the broker tests: temp dirs, and child processes (brokers, producers,
 * consumers) run with `node --import tsx`, whose stdout lines the tests read.
 */

export const LOG_PACKAGE_DIR = path.resolve(import.meta.dirname, "..");
export const FIXTURES_DIR = path.join(import.meta.dirname, "fixtures");

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tributary-${prefix}-`));
}

type LineWaiter = { test: (line: string) => boolean; resolve: (l: string) => void };

/** A child process whose stdout and stderr are read line by line. */
export class ChildProc {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  /** stderr, line by line (the broker's JSON log lines). */
  readonly errLines: string[] = [];
  private waiters: LineWaiter[] = [];
  private errWaiters: LineWaiter[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      this.lines.push(line);
      this.waiters = ChildProc.offer(this.waiters, line);
    });
    child.stderr!.on("data", (d: Buffer) => this.stderr.push(d.toString()));
    readline.createInterface({ input: child.stderr! }).on("line", (line) => {
      this.errLines.push(line);
      this.errWaiters = ChildProc.offer(this.errWaiters, line);
    });
    this.exited = new Promise((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
  }

  private static offer(waiters: LineWaiter[], line: string): LineWaiter[] {
    return waiters.filter((w) => {
      if (!w.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first stdout line (seen or to come) that passes `test`. */
  waitForLine(test: (line: string) => boolean, what: string, timeoutMs = 120_000): Promise<string> {
    return this.waitFor("out", test, what, timeoutMs);
  }

  /** The same for stderr lines. */
  waitForErrLine(
    test: (line: string) => boolean,
    what: string,
    timeoutMs = 120_000,
  ): Promise<string> {
    return this.waitFor("err", test, what, timeoutMs);
  }

  private waitFor(
    stream: "out" | "err",
    test: (line: string) => boolean,
    what: string,
    timeoutMs: number,
  ): Promise<string> {
    const seen = (stream === "out" ? this.lines : this.errLines).find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no ${what} within ${timeoutMs} ms; stderr: ${this.stderr.join("").slice(-4000)}`,
            ),
          ),
        timeoutMs,
      );
      void this.exited.then(({ code, signal }) =>
        reject(
          new Error(
            `exited (${code ?? signal}) before ${what}; stderr: ${this.stderr.join("").slice(-4000)}`,
          ),
        ),
      );
      const waiter = {
        test,
        resolve: (l: string) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      (stream === "out" ? this.waiters : this.errWaiters).push(waiter);
    });
  }

  /** stdout lines that are JSON objects (fixtures report events that way). */
  events<T = Record<string, unknown>>(): T[] {
    const out: T[] = [];
    for (const l of this.lines) {
      if (l.startsWith("{")) out.push(JSON.parse(l) as T);
    }
    return out;
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** Runs a TypeScript file in a new node process with tsx. */
export function spawnTs(file: string, args: string[], cwd = LOG_PACKAGE_DIR): ChildProc {
  const child = spawn(process.execPath, ["--import", "tsx", file, ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new ChildProc(child);
}

export interface BrokerProc {
  proc: ChildProc;
  address: string;
}

/**
 * Starts a broker process (fixtures/broker-process.ts: the same startBroker the CLI runs)
 * on `dataDir` and waits for its ready line.
 */
export async function startBrokerProcess(
  dataDir: string,
  args: string[] = [],
  nofile?: number,
): Promise<BrokerProc> {
  const file = path.join(FIXTURES_DIR, "broker-process.ts");
  const brokerArgs = ["--data", dataDir, ...args];
  const proc =
    nofile === undefined ? spawnTs(file, brokerArgs) : spawnTsWithFdLimit(file, brokerArgs, nofile);
  const line = await proc.waitForLine((l) => l.startsWith("broker listening on "), "ready line");
  return { proc, address: line.split(" ")[3]! };
}

/** Polls `check` until it returns a value other than undefined. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the group has `members` members and all `partitions` are assigned. */
export async function groupStable(
  admin: LogClient["admin"],
  groupId: string,
  members: number,
  partitions: number,
) {
  return eventually(async () => {
    const d = await admin.describeGroup(groupId);
    const assigned = d.members.reduce((n, m) => n + m.assignment.length, 0);
    return d.state === "Stable" && d.members.length === members && assigned === partitions
      ? d
      : undefined;
  }, `group ${groupId} stable with ${members} members`);
}

/** A line fixtures/broker-consumer.ts prints per partition of a poll with records. */
export interface Polled {
  p: number;
  offsets: number[];
  values: string[];
}

/** Starts a group member process (fixtures/broker-consumer.ts). */
export function spawnConsumer(
  address: string,
  groupId: string,
  topic: string,
  sessionTimeoutMs: number,
): ChildProc {
  return spawnTs(path.join(FIXTURES_DIR, "broker-consumer.ts"), [
    address,
    groupId,
    topic,
    String(sessionTimeoutMs),
  ]);
}

export interface BrokerWithTopic {
  dir: string;
  broker: BrokerProc;
  client: LogClient;
  /** Child processes the tests start; SIGKILLed after the tests. */
  consumers: ChildProc[];
}

/**
 * For the enclosing describe: a broker process on a temp dir with `topic` created, a
 * client connected to it, and cleanup (children killed, broker stopped, dir removed).
 * The fields are set once beforeAll has run.
 */
export function brokerWithTopic(
  dirPrefix: string,
  topic: string,
  partitions: number,
): BrokerWithTopic {
  const env = { consumers: [] as ChildProc[] } as BrokerWithTopic;
  beforeAll(async () => {
    env.dir = tempDir(dirPrefix);
    env.broker = await startBrokerProcess(env.dir);
    env.client = await connectBroker(env.broker.address);
    await env.client.admin.createTopic(topic, { partitions });
  });
  afterAll(async () => {
    for (const c of env.consumers) c.kill("SIGKILL");
    await env.client.close();
    env.broker.proc.kill("SIGTERM");
    await env.broker.proc.exited;
    fs.rmSync(env.dir, { recursive: true, force: true });
  });
  return env;
}

/** Resident set size of a process, in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (kb === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb[1]) * 1024;
}

/** Runs a fixture (tsx) under `prlimit --nofile=N` (the tests run as root, so N may exceed ours). */
export function spawnTsWithFdLimit(file: string, args: string[], nofile: number): ChildProc {
  const child = spawn(
    "prlimit",
    [`--nofile=${nofile}:${nofile}`, process.execPath, "--import", "tsx", file, ...args],
    { cwd: LOG_PACKAGE_DIR, stdio: ["ignore", "pipe", "pipe"] },
  );
  return new ChildProc(child);
}
