import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.resolve(here, "..");

/** A fresh temp directory; removed by the returned cleanup. */
export function tempDir(prefix = "tributary-test-"): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Every name in a directory tree, relative to it, sorted: what a test expects on disk. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      out.push(r);
      if (e.isDirectory()) walk(r);
    }
  };
  walk("");
  return out.sort();
}

export interface Fixture {
  child: ChildProcess;
  /** The first line the fixture printed. */
  firstLine: Promise<string>;
  /** Resolves when the process has exited (and been reaped). */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs a TypeScript fixture (a name in test/fixtures, or an absolute path) as a real child process. */
export function runFixture(name: string, args: string[]): Fixture {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.resolve(here, "fixtures", name), ...args],
    {
      cwd: packageDir,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const firstLine = new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    void exited.then((code) => {
      if (!buf.includes("\n"))
        reject(new Error(`fixture ${name} exited (${code}) before printing: ${stderr}`));
    });
  });
  return {
    child,
    firstLine,
    exited,
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
