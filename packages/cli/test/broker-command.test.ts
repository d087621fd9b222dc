import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as readline from "node:readline";
import { connectBroker, findRunningBroker } from "@tributary/log";
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "./helpers.js";

// `tributary broker` as a user runs it: node packages/cli/dist/bin.js broker ...
const BIN = path.resolve(import.meta.dirname, "../dist/bin.js");
const CWD = path.resolve(import.meta.dirname, "..");

interface Running {
  child: ReturnType<typeof spawn>;
  address: string;
  exited: Promise<number | null>;
  stderr: () => string;
}

const started: Running[] = [];
const dirs: string[] = [];

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-cli-broker-"));
  dirs.push(d);
  return d;
}

function startBroker(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [BIN, "broker", ...args], {
    cwd: CWD,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.on("line", (line) => {
      const m = /^broker listening on (\S+)/.exec(line);
      if (m === null) return;
      const r: Running = { child, address: m[1]!, exited, stderr: () => err };
      started.push(r);
      resolve(r);
    });
    void exited.then((code) => reject(new Error(`broker exited ${code} before ready: ${err}`)));
  });
}

function runCli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: CWD,
    encoding: "utf8",
    timeout: 240_000, // a hang guard, not an expected duration (loaded machines)
  });
}

afterEach(async () => {
  for (const r of started.splice(0)) {
    r.child.kill("SIGKILL");
    await r.exited;
  }
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("tributary broker", () => {
  it("serves a data dir on loopback TCP, announces itself in broker.json, and stops cleanly on SIGTERM", async () => {
    const data = tempDir();
    const broker = await startBroker(["--data", data, "--listen", "127.0.0.1:0"]);
    expect(broker.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(findRunningBroker(data)).toMatchObject({
      address: broker.address,
      pid: broker.child.pid,
    });

    const client = await connectBroker(broker.address);
    await client.admin.createTopic("t", { partitions: 1 });
    await client.producer().send("t", [{ value: Buffer.from("hello") }]);
    await client.close();

    broker.child.kill("SIGTERM");
    expect(await broker.exited).toBe(0);
    expect(findRunningBroker(data)).toBeUndefined();
    // The lock was released: a new broker opens the same directory and has the record.
    const again = await startBroker(["--data", data, "--listen", "127.0.0.1:0"]);
    const c2 = await connectBroker(again.address);
    expect((await c2.admin.listOffsets("t", "latest"))[0]!.offset).toBe(1);
    await c2.close();
    again.child.kill("SIGINT");
    expect(await again.exited).toBe(0);
  });

  it("listens on a Unix socket and requires the token from --token-file", async () => {
    const data = tempDir();
    const sock = path.join(data, "broker.sock");
    const tokenFile = path.join(data, "token");
    fs.writeFileSync(tokenFile, "let-me-in\n");
    const broker = await startBroker(["--data", data, "--socket", sock, "--token-file", tokenFile]);
    expect(broker.address).toBe(`unix:${sock}`);
    await expect(connectBroker(broker.address)).rejects.toMatchObject({
      code: "AUTHENTICATION_FAILED",
    });
    const client = await connectBroker(broker.address, { token: "let-me-in" });
    expect(await client.admin.listTopics()).toEqual([]);
    await client.close();
    broker.child.kill("SIGTERM");
    expect(await broker.exited).toBe(0);
    expect(fs.existsSync(sock)).toBe(false);
  });

  it("refuses bad flags with one line and exit code 2", () => {
    const cases = [
      ["broker", "--no-such-flag"],
      ["broker", "--listen", "127.0.0.1:1", "--socket", "/tmp/x.sock"],
      ["broker", "--max-frame-bytes", "lots"],
      ["broker", "--listen", "127.0.0.1:99999"],
      ["broker", "--token-file", "/nonexistent/token"],
    ];
    expectUsageErrors(cases);
  });

  it("refuses bad connection-limit flags the same way", () => {
    expectUsageErrors([
      ["broker", "--max-connections", "0"],
      ["broker", "--max-connections-per-ip", "many"],
      ["broker", "--connections-max-idle-ms", "-1"],
      ["broker", "--handshake-timeout-ms", "1.5"],
      ["broker", "--max-buffered-bytes-per-connection", "10"],
    ]);
  });

  function expectUsageErrors(cases: string[][]): void {
    for (const args of cases) {
      const r = runCli(args);
      expect(r.status, args.join(" ")).toBe(2);
      const lines = r.stderr.trim().split("\n");
      expect(lines, args.join(" ")).toHaveLength(1);
      expect(lines[0]).toMatch(/^tributary: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  }

  it("applies the connection-limit flags", async () => {
    const data = tempDir();
    const broker = await startBroker([
      "--data",
      data,
      "--listen",
      "127.0.0.1:0",
      "--max-connections",
      "1",
      "--connections-max-idle-ms",
      "60000",
    ]);
    const first = await connectBroker(broker.address);
    const second = await connectBroker(broker.address).catch((e: unknown) => e as Error);
    expect((second as Error).message).toMatch(/max\.connections \(--max-connections 1\)/);
    expect(await first.admin.listTopics()).toEqual([]);
    await first.close();
    // the child's stderr arrives on its own pipe, maybe after the address it announced
    await eventually("the connection-limits line on the broker's stderr", () =>
      /"event":"connection-limits","maxConnections":1/.test(broker.stderr()) ? true : undefined,
    );
  });

  it("refuses a second broker on a data dir that one already serves", async () => {
    const data = tempDir();
    const first = await startBroker(["--data", data, "--listen", "127.0.0.1:0"]);
    const r = runCli(["broker", "--data", data, "--listen", "127.0.0.1:0"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/locked/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(findRunningBroker(data)?.pid).toBe(first.child.pid);
  });
});
