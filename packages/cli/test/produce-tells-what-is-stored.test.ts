import { afterEach, describe, expect, it } from "vitest";
import {
  cleanup,
  cli,
  eventually,
  expectOneLineError,
  runCli,
  spawnCli,
  startBroker,
  tempDir,
} from "./helpers.js";

afterEach(cleanup);

const lines = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => JSON.stringify({ value: from + i }));

function values(data: string[]): number[] {
  return cli(["consume", "t", "--value-serde", "json", ...data])
    .split("\n")
    .filter(Boolean)
    .map(Number);
}

describe("produce says which input lines are stored and how to resume", () => {
  it("a bad line in a batch of 5,000: the lines before it are stored, and --skip resumes after them", () => {
    const data = tempDir();
    cli(["topics", "create", "t", "--data", data]);
    const good = lines(1, 7000);
    const bad = [...good.slice(0, 6999), "{oops", ...good.slice(7000 - 1 + 1)];
    const r = runCli(
      ["produce", "t", "--format", "json", "--value-serde", "json", "--data", data],
      {
        input: [...bad, ...lines(7001, 7002)].join("\n"),
      },
    );
    expect(r.status).toBe(2);
    expect(expectOneLineError(r)).toMatch(
      /line 7000: not a JSON line .*input lines 1–6999 stored \(6999 records\): fix line 7000 and resume with --skip 6999/,
    );
    expect(values(["--data", data])).toEqual(Array.from({ length: 6999 }, (_, i) => i + 1));

    // The same input, line 7000 fixed, resumed where the error said: every record once.
    const again = cli(
      [
        "produce",
        "t",
        "--format",
        "json",
        "--value-serde",
        "json",
        "--skip",
        "6999",
        "--data",
        data,
      ],
      { input: [...good, ...lines(7001, 7002)].join("\n") },
    );
    expect(again).toBe("");
    expect(values(["--data", data])).toEqual(Array.from({ length: 7002 }, (_, i) => i + 1));
  });

  it("Ctrl-C while reading stdin: sends what it read, says how many lines are stored, exits 130", async () => {
    const data = tempDir();
    cli(["topics", "create", "t", "--data", data]);
    const broker = await startBroker(data);
    const p = spawnCli(
      ["produce", "t", "--format", "json", "--value-serde", "json", "--broker", broker.address],
      { stdin: "pipe" },
    );
    // Two full batches go out while stdin stays open, as when a user types or a feed pauses.
    p.child.stdin!.write(`${lines(1, 12_000).join("\n")}\n`);
    await eventually("two batches stored", () => {
      const n = values(["--broker", broker.address]).length;
      return n >= 10_000 ? n : undefined;
    });
    p.child.kill("SIGINT");
    expect(await p.exited).toBe(130);
    const m =
      /interrupted: produced (\d+) records to t; input lines 1–(\d+) stored: resume with --skip (\d+)/.exec(
        p.stderr(),
      );
    expect(m, p.stderr()).not.toBeNull();
    const stored = values(["--broker", broker.address]);
    expect(Number(m![1])).toBe(stored.length);
    expect(Number(m![2])).toBe(stored.length);
    expect(Number(m![3])).toBe(stored.length);
    expect(stored).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
  });

  it("a send the log refuses says which lines are stored and where to resume", () => {
    const data = tempDir();
    cli(["topics", "create", "t", "--config", "max.message.bytes=1000", "--data", data]);
    const input = ["a", "b", "x".repeat(5000), "c"].join("\n");
    const r = runCli(["produce", "t", "--batch-size", "1", "--data", data], { input });
    expect(r.status).toBe(1);
    expect(expectOneLineError(r)).toMatch(
      /exceeds max.message.bytes=1000.*; input lines 1–2 stored, line 3 not: resume with --skip 2$/,
    );
    expect(cli(["consume", "t", "--data", data])).toBe("a\nb\n");
  });

  it("warns when records are stamped older than the topic's retention, not when it keeps history", () => {
    const data = tempDir();
    cli(["topics", "create", "t", "--data", data]);
    cli(["topics", "create", "kept", "--config", "retention.ms=-1", "--data", data]);
    const old = [
      JSON.stringify({ value: 1, timestamp: "2024-05-01T00:00:00Z" }),
      JSON.stringify({ value: 2, timestamp: Date.now() }),
    ].join("\n");
    const r = runCli(["produce", "t", "--format", "json", "--data", data], { input: old });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(
      /warning: records stamped before \S+ are older than t's retention \(retention.ms=604800000\).*retention.ms=-1/,
    );
    expect(r.stderr).toMatch(/produced 2 records to t, 1 older than its retention/);
    const kept = runCli(["produce", "kept", "--format", "json", "--data", data], { input: old });
    expect(kept.status).toBe(0);
    expect(kept.stderr).not.toMatch(/warning/);
  });
});
