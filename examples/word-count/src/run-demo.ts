/**
 * `npm start` at the top of the repo: word count end to end on the embedded default, with
 * the real `tributary` command doing every step, as a user would type them:
 *   1. tributary broker on a fresh data dir (a temp dir, removed at the end);
 *   2. tributary topics create text-lines / word-counts (2 partitions each, kept forever);
 *   3. tributary produce text-lines --format json  < the generator's lines;
 *   4. tributary run src/app.ts --workers 2 --until-caught-up (the TypeScript file as is);
 *   5. tributary consume word-counts: the derived stream, and the final top words;
 *   6. the broker is stopped with SIGTERM.
 * Exits 1 if the final counts differ from a reference computed here over the same lines.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { fileURLToPath } from "node:url";
import { splitWords } from "./app.js";
import { textLines } from "./generate.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const APP = path.resolve(here, "../src/app.ts");
const BIN = createRequire(import.meta.url).resolve("@tributary/cli");
const LINES = Number(process.env.LINES ?? 2000);

function tributary(args: string[], input?: string): string {
  process.stderr.write(`$ tributary ${args.join(" ")}\n`);
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: input ?? "",
    encoding: "utf8",
    stdio: ["pipe", "pipe", "inherit"],
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`tributary ${args[0]} exited ${r.status}`);
  return r.stdout;
}

function startBroker(data: string): Promise<ChildProcess> {
  process.stderr.write(`$ tributary broker --data ${data} --listen 127.0.0.1:0\n`);
  const child = spawn(
    process.execPath,
    [BIN, "broker", "--data", data, "--listen", "127.0.0.1:0"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  // The broker logs every connection as a JSON line: kept out of the demo's output, shown
  // only if it fails to start.
  let log = "";
  child.stderr!.on("data", (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      process.stderr.write(`${line}\n`);
      if (line.startsWith("broker listening on")) resolve(child);
    });
    child.once("exit", (code) =>
      reject(new Error(`the broker exited ${code} before it was ready: ${log}`)),
    );
  });
}

async function main(): Promise<number> {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-word-count-"));
  const broker = await startBroker(data);
  try {
    // The generated history is stamped in 2024: topics that keep it (the default, 7 days
    // by record time, would let the broker delete it within a minute).
    const keep = ["--config", "retention.ms=-1"];
    tributary(["topics", "create", "text-lines", "--partitions", "2", ...keep, "--data", data]);
    tributary(["topics", "create", "word-counts", "--partitions", "2", ...keep, "--data", data]);
    const lines = [...textLines(LINES, 1)];
    tributary(
      ["produce", "text-lines", "--format", "json", "--data", data],
      lines.map((l) => JSON.stringify(l)).join("\n"),
    );
    tributary([
      "run",
      APP,
      "--workers",
      "2",
      "--until-caught-up",
      "--progress",
      "plain",
      // For people: the workers' own lines (each one's totals at its stop) as text, not JSON.
      "--log-format",
      "pretty",
      "--data",
      data,
    ]);
    const updates = tributary([
      "consume",
      "word-counts",
      "--print-key",
      "--value-serde",
      "json",
      "--data",
      data,
    ])
      .split("\n")
      .filter((l) => l.length > 0);

    const counts = new Map<string, number>();
    for (const u of updates) {
      const [word, n] = u.split("\t");
      counts.set(word!, Number(n));
    }
    const reference = new Map<string, number>();
    for (const l of lines)
      for (const w of splitWords(l.value)) reference.set(w, (reference.get(w) ?? 0) + 1);

    process.stdout.write(
      `\nthe derived stream word-counts: ${updates.length} updates, the first ones:\n`,
    );
    process.stdout.write(`${updates.slice(0, 8).join("\n")}\n...\n\ntop words:\n`);
    const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 10);
    for (const [w, n] of top) process.stdout.write(`  ${w.padEnd(12)} ${n}\n`);
    const same =
      counts.size === reference.size && [...reference].every(([w, n]) => counts.get(w) === n);
    process.stdout.write(
      same
        ? `\nthe final counts equal a reference computed over the same ${lines.length} lines\n`
        : "\nthe final counts DIFFER from the reference\n",
    );
    return same ? 0 : 1;
  } finally {
    const exited = new Promise((resolve) => broker.once("exit", resolve));
    broker.kill("SIGTERM");
    await exited;
    fs.rmSync(data, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`run-demo: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
