import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as readline from "node:readline";

/** packages/log: from src/testing (tests run from source) and dist/testing alike. */
export const LOG_PACKAGE_DIR = path.resolve(import.meta.dirname, "../..");

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

/** The node arguments that run `file`: TypeScript through tsx, JavaScript as it is. */
function nodeArgs(file: string, args: string[]): string[] {
  const typescript = /\.[cm]?ts$/.test(file);
  return [...(typescript ? ["--import", "tsx"] : []), file, ...args];
}

/** Runs a script (TypeScript with tsx) in a new node process. */
export function spawnTs(file: string, args: string[], cwd = LOG_PACKAGE_DIR): ChildProc {
  const child = spawn(process.execPath, nodeArgs(file, args), {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new ChildProc(child);
}

/** Runs a script under `prlimit --nofile=N` (the tests run as root, so N may exceed ours). */
export function spawnTsWithFdLimit(file: string, args: string[], nofile: number): ChildProc {
  const child = spawn(
    "prlimit",
    [`--nofile=${nofile}:${nofile}`, process.execPath, ...nodeArgs(file, args)],
    { cwd: LOG_PACKAGE_DIR, stdio: ["ignore", "pipe", "pipe"] },
  );
  return new ChildProc(child);
}
