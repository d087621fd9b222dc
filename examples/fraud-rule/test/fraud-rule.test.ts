import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { describe, expect, it } from "vitest";
import { type FraudAlert, WITHIN_MS } from "../src/app.js";
import { logins, payments } from "../src/generate.js";

const APP = path.resolve(import.meta.dirname, "../src/app.ts");
const BIN = createRequire(import.meta.url).resolve("@tributary/cli");

/** Runs the real `tributary` command, as the README's "Run it" types it. */
function tributary(args: string[], input = ""): string {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    timeout: 240_000, // a hang guard, not an expected duration (loaded machines)
  });
  if (r.status !== 0) {
    throw new Error(`tributary ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  }
  return r.stdout;
}

function startBroker(data: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [BIN, "broker", "--data", data, "--listen", "127.0.0.1:0"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let log = "";
  child.stderr!.on("data", (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith("broker listening on")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`the broker exited ${code}: ${log}`)));
  });
}

/**
 * The alerts the rule must raise, by plain loops over the generated history: one per
 * payment and login of the same user at most WITHIN_MS apart (before or after) whose
 * countries differ, as `paymentId|loginCountry`.
 */
function reference(
  ls: ReturnType<typeof logins>,
  ps: ReturnType<typeof payments>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of ps) {
    for (const l of ls) {
      if (l.key !== p.key || Math.abs(l.timestamp - p.timestamp) > WITHIN_MS) continue;
      if (l.value.country === p.value.country) continue;
      const k = `${p.value.paymentId}|${l.value.country}`;
      out.set(k, (out.get(k) ?? 0) + 1);
    }
  }
  return out;
}

describe("fraud rule (README: Run it)", () => {
  it("logins produced first, then payments: `tributary run --workers 2 --until-caught-up` raises the reference's alerts", async () => {
    const ls = logins(50, 1);
    const ps = payments(2000, 1, 50);
    const expected = reference(ls, ps);
    expect(expected.size).toBeGreaterThan(10);

    const data = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-fraud-rule-"));
    const broker = await startBroker(data);
    try {
      for (const t of ["logins", "payments", "fraud-alerts"]) {
        // retention.ms=-1: the generated history is stamped in 2024
        tributary([
          "topics",
          "create",
          t,
          "--partitions",
          "2",
          "--config",
          "retention.ms=-1",
          "--data",
          data,
        ]);
      }
      const lines = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n");
      const produce = ["--format", "json", "--value-serde", "json", "--data", data];
      // the whole login history first, then the payments: a replay of two loaded topics
      tributary(["produce", "logins", ...produce], lines(ls));
      tributary(["produce", "payments", ...produce], lines(ps));
      tributary([
        "run",
        APP,
        "--workers",
        "2",
        "--until-caught-up",
        "--progress",
        "plain",
        "--data",
        data,
      ]);
      const out = tributary([
        "consume",
        "fraud-alerts",
        "--format",
        "json",
        "--value-serde",
        "json",
        "--data",
        data,
      ]);
      const alerts = out
        .split("\n")
        .filter((l) => l.length > 0)
        .map((l) => (JSON.parse(l) as { value: FraudAlert }).value);

      const actual = new Map<string, number>();
      for (const a of alerts) {
        expect(a.country).not.toBe(a.loginCountry);
        const k = `${a.paymentId}|${a.loginCountry}`;
        actual.set(k, (actual.get(k) ?? 0) + 1);
      }
      const want = [...expected.values()].reduce((a, b) => a + b, 0);
      console.log(`${alerts.length} fraud alerts; the reference has ${want}`);
      // at-least-once: an alert may repeat after a worker moved mid-batch, none is missing
      // or invented
      expect(new Set(actual.keys())).toEqual(new Set(expected.keys()));
      for (const [k, n] of expected) expect(actual.get(k), k).toBeGreaterThanOrEqual(n);
    } finally {
      const exited = new Promise((resolve) => broker.once("exit", resolve));
      broker.kill("SIGTERM");
      await exited;
      fs.rmSync(data, { recursive: true, force: true });
    }
  });
});
