import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, cli, expectOneLineError, runCli, startBroker, tempDir } from "./helpers.js";

afterEach(cleanup);

const RECORDS = 3000;

/** The value lines of `consume` output, as the numbers produced. */
function consumed(stdout: string): number[] {
  return stdout
    .split("\n")
    .filter((l) => /^v\d+$/.test(l))
    .map((l) => Number(l.slice(1)));
}

function flipByte(file: string, position: number): void {
  const fd = fs.openSync(file, "r+");
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, position);
  b[0] = b[0]! ^ 0x10;
  fs.writeSync(fd, b, 0, 1, position);
  fs.closeSync(fd);
}

describe("tributary log check|repair", () => {
  it("reports damage by file, byte and offset, refuses beside a broker, asks first, then drops only the damage", async () => {
    const data = tempDir();
    cli(["topics", "create", "t", "--config", "segment.bytes=8192", "--data", data]);
    const lines = Array.from({ length: RECORDS }, (_, i) => `v${i}`).join("\n");
    cli(["produce", "t", "--batch-size", "20", "--data", data], { input: `${lines}\n` });
    const dir = path.join(data, "t-0");
    const logs = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith(".log"))
      .sort();
    expect(logs.length).toBeGreaterThanOrEqual(5);
    // One flipped byte in the middle of the second segment.
    const victim = path.join(dir, logs[1]!);
    flipByte(victim, Math.floor(fs.statSync(victim).size / 2));

    const check = runCli(["log", "check", "--data", data]);
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(
      /^t-0: DAMAGED \(1\); \d+ segments, offsets 0 to 2999, clean shutdown$/m,
    );
    expect(check.stdout).toContain(`${victim} bytes `);
    expect(check.stdout).toMatch(/offsets \d+ to \d+ \(at most \d+ records\) unreadable/);
    expect(check.stdout).toMatch(/^__consumer_offsets-0: ok/m);
    expect(check.stdout).toMatch(/^__transaction_state-0: ok/m);
    expect(expectOneLineError(check)).toMatch(
      /1 of 3 partitions are damaged.*tributary log repair/,
    );
    const json = runCli(["log", "check", "--data", data, "--topic", "t", "--format", "json"]);
    const [report] = JSON.parse(json.stdout) as {
      damage: { file: string; position: number; fromOffset: number; toOffset: number }[];
    }[];
    const damage = report!.damage[0]!;
    expect(damage.file).toBe(victim);
    const lost = Array.from(
      { length: damage.toOffset - damage.fromOffset },
      (_, i) => damage.fromOffset + i,
    );
    expect(lost.length).toBeGreaterThan(0);

    // A consumer gets every record before the damage, then a named error, never garbage.
    const read = runCli(["consume", "t", "--from-beginning", "--data", data]);
    expect(read.status).toBe(1);
    expect(consumed(read.stdout)).toEqual(Array.from({ length: damage.fromOffset }, (_, i) => i));
    expect(expectOneLineError(read)).toMatch(
      new RegExp(`corrupt record data in segment ${victim}.*offset ${damage.fromOffset}`),
    );

    // Never beside a running broker.
    const broker = await startBroker(data);
    const locked = runCli(["log", "repair", "--data", data, "--yes"]);
    expect(locked.status).toBe(1);
    expect(expectOneLineError(locked)).toMatch(/locked by .*stop the broker/);
    broker.child.kill("SIGTERM");
    expect(await broker.exited).toBe(0);
    const sizeBefore = fs.statSync(victim).size;

    // Declined: says what it would drop, changes nothing.
    const declined = runCli(["log", "repair", "--data", data], { input: "n\n" });
    expect(declined.status).toBe(1);
    expect(declined.stderr).toContain(`${victim} bytes ${damage.position} to `);
    expect(declined.stderr).toMatch(/repair drops these \d+ bytes and offsets/);
    expect(declined.stderr.trimEnd().split("\n").at(-1)).toMatch(
      /tributary: repair cancelled: nothing was changed$/,
    );
    expect(fs.statSync(victim).size).toBe(sizeBefore);

    const repaired = runCli(["log", "repair", "--data", data], { input: "y\n" });
    expect(repaired.status, repaired.stderr).toBe(0);
    expect(repaired.stderr).toMatch(/repaired 1 damaged places in 1 partitions/);
    expect(fs.statSync(victim).size).toBeLessThan(sizeBefore);
    expect(runCli(["log", "check", "--data", data]).status).toBe(0);

    // Every intact record is still there, and new records get new offsets.
    const intact = Array.from({ length: RECORDS }, (_, i) => i).filter((i) => !lost.includes(i));
    const after = runCli([
      "consume",
      "t",
      "--from-beginning",
      "--max-messages",
      String(intact.length),
      "--data",
      data,
    ]);
    expect(after.status, after.stderr).toBe(0);
    expect(consumed(after.stdout)).toEqual(intact);
    cli(["produce", "t", "--data", data], { input: "v3000\n" });
    const offsets = JSON.parse(
      cli(["topics", "describe", "t", "--format", "json", "--data", data]),
    ) as {
      partitions: { logEndOffset: number }[];
    };
    expect(offsets.partitions[0]!.logEndOffset).toBe(RECORDS + 1);
  }, 300_000);

  it("bad usage exits 2 with a one-line error", () => {
    const data = tempDir();
    const noTopic = runCli(["log", "check", "--data", data, "--partition", "0"]);
    expect(noTopic.status).toBe(2);
    expect(expectOneLineError(noTopic)).toMatch(/--partition needs --topic/);
    const missing = runCli(["log", "repair", "--data", path.join(data, "nope"), "--yes"]);
    expect(missing.status).toBe(2);
    expect(expectOneLineError(missing)).toMatch(/does not exist: pass the broker's --data/);
  }, 120_000);
});
