import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as readline from "node:readline";
import { eventually as pollUntil } from "@tributary/log/testing";

/**
 * Shared helpers of the CLI tests: they run `tributary` as a user does, in a child
 * process (node packages/cli/dist/bin.js ...), on temp data dirs. The built command, as
 * `npx tributary` runs it: `npm test` builds first (after a change to the CLI's source,
 * `npm run build` before running one test file). Through tsx, every invocation and every
 * worker process it starts compiled the CLI's sources again (1.5 s against 0.75 s).
 */
export const BIN = path.resolve(import.meta.dirname, "../dist/bin.js");
export const CLI_DIR = path.resolve(import.meta.dirname, "..");
export const REPO = path.resolve(CLI_DIR, "../..");
const dirs: string[] = [];
const children: ChildProcess[] = [];

export function tempDir(prefix = "tributary-cli-"): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** What a command runs with; `env` is added to (and overrides) the test's environment. */
export interface CliOptions {
  input?: string;
  cwd?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Runs the command to completion; `input` is piped to its stdin. */
export function runCli(args: string[], options: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? CLI_DIR,
    env: { ...process.env, ...options.env },
    input: options.input ?? "",
    encoding: "utf8",
    // A guard against a hung command; the tests' bounds are the vitest timeouts.
    timeout: options.timeoutMs ?? 240_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the command and fails the test with its stderr unless it exits 0. */
export function cli(args: string[], options: CliOptions = {}): string {
  const r = runCli(args, options);
  if (r.status !== 0) {
    throw new Error(`tributary ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  }
  return r.stdout;
}

export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as T);
}

export interface Spawned {
  child: ChildProcess;
  exited: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
}

/** Starts a long-running command (broker, run, consume --follow); killed in cleanup(). */
export function spawnCli(
  args: string[],
  options: { cwd?: string; stdin?: "pipe" | "ignore"; env?: NodeJS.ProcessEnv } = {},
): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? CLI_DIR,
    env: { ...process.env, ...options.env },
    stdio: [options.stdin ?? "ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, stdout: () => out, stderr: () => err };
}

/** Resolves with the first stdout line matching `pattern`; rejects if the process exits first. */
export function waitForLine(s: Spawned, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: s.child.stdout! });
    rl.on("line", (line) => {
      const m = pattern.exec(line);
      if (m !== null) {
        rl.close();
        resolve(m);
      }
    });
    void s.exited.then((code) =>
      reject(new Error(`exited ${code} before printing ${pattern}: ${s.stderr()}`)),
    );
  });
}

/** Starts `tributary broker` on a data dir, on a free loopback port. */
export async function startBroker(data: string): Promise<Spawned & { address: string }> {
  const s = spawnCli(["broker", "--data", data, "--listen", "127.0.0.1:0"]);
  const m = await waitForLine(s, /^broker listening on (\S+)/);
  return { ...s, address: m[1]! };
}

export async function cleanup(): Promise<void> {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      const gone = new Promise((resolve) => c.on("exit", resolve));
      c.kill("SIGKILL");
      await gone;
    }
  }
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** One-line error, no stack trace: what every failing command must print. */
export function expectOneLineError(r: CliResult): string {
  const lines = r.stderr.trim().split("\n");
  if (lines.length !== 1 || !lines[0]!.startsWith("tributary: ") || /\n\s+at /.test(r.stderr)) {
    throw new Error(`expected one 'tributary: ' line on stderr, got: ${r.stderr}`);
  }
  return lines[0]!;
}

/**
 * A temp dir where topology files can live like a user's project: its node_modules links
 * the workspace's @tributary packages, so `import { defineApp } from "@tributary/streams"`
 * resolves as it would after `npm install`.
 */
export function appDir(): string {
  const d = tempDir("tributary-app-");
  fs.mkdirSync(path.join(d, "node_modules"));
  fs.symlinkSync(
    path.join(REPO, "node_modules/@tributary"),
    path.join(d, "node_modules/@tributary"),
  );
  return d;
}

/** Polls `check` until it returns a value, for at most `ms` (then fails with `what`). */
export function eventually<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  ms = 180_000,
): Promise<T> {
  return pollUntil(check, what, ms);
}

/** A topology file (for appDir()) that upper-cases the values of topic "in" into "out". */
export const UPPER_APP = `
import { Serdes, defineApp } from "@tributary/streams";
const str = Serdes.string();
export default defineApp({
  applicationId: "upper",
  topology: (b) => {
    b.stream<string | null, string>("in", { keySerde: str, valueSerde: str })
      .mapValues((v) => v.toUpperCase())
      .to("out", { keySerde: str, valueSerde: str });
  },
});
`;

/** The value of one series (name and labels as Prometheus writes them) in /metrics text. */
export function promSample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/**
 * Waits until the --metrics endpoint at `address` shows `lagSeries` at 0 and /readyz
 * answers 200, then checks /healthz: the end of every run's metrics test.
 */
export async function expectCaughtUpAndReady(address: string, lagSeries: string): Promise<void> {
  await eventually("lag 0 and ready", async () => {
    const text = await (await fetch(`http://${address}/metrics`)).text();
    const ready = await fetch(`http://${address}/readyz`);
    return promSample(text, lagSeries) === 0 && ready.status === 200 ? true : undefined;
  });
  const health = await fetch(`http://${address}/healthz`);
  if (health.status !== 200) throw new Error(`/healthz answered ${health.status}`);
}

/** The address a command started with --metrics prints on stderr. */
export function metricsAddress(s: Spawned): Promise<string> {
  return eventually(
    "the metrics address",
    () => /metrics on http:\/\/(\S+)\/metrics/.exec(s.stderr())?.[1],
  );
}
