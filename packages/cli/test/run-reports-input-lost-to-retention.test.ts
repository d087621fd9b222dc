import fs from "node:fs";
import path from "node:path";
import { openEmbeddedLog } from "@tributary/log";
import { afterEach, describe, expect, it } from "vitest";
import {
  UPPER_APP,
  appDir,
  cleanup,
  cli,
  eventually,
  jsonLines,
  metricsAddress,
  promSample,
  runCli,
  spawnCli,
  tempDir,
} from "./helpers.js";

afterEach(cleanup);

const HOUR = 3_600_000;

describe("tributary run reports input that retention deleted before the app read it", () => {
  it("counts the skipped offsets in the warning, the progress line, /metrics and the final summary", async () => {
    const data = tempDir();
    const apps = appDir();
    const file = path.join(apps, "upper.ts");
    fs.writeFileSync(file, UPPER_APP);
    const config = ["--config", "retention.ms=3600000", "--config", "segment.bytes=2048"];
    cli(["topics", "create", "in", ...config, "--data", data]);
    cli(["topics", "create", "out", "--data", data]);
    const lines = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => `v${from + i}`.padEnd(100, ".")).join("\n");
    cli(["produce", "in", "--data", data], { input: lines(0, 20) });
    const first = runCli(["run", file, "--until-caught-up", "--progress", "none", "--data", data]);
    expect(first.status, first.stderr).toBe(0);

    // The app is stopped (behind) while 100 more arrive and, two hours later by the log's
    // clock, retention deletes every segment of them; 10 newer records stay.
    cli(["produce", "in", "--data", data], { input: lines(20, 100) });
    const log = await openEmbeddedLog(data, {
      now: () => Date.now() + 2 * HOUR,
      maintenanceIntervalMs: 100,
    });
    let logStart: number;
    let committed: number;
    try {
      logStart = await eventually("retention to delete the unread input", async () => {
        const [earliest] = await log.admin.listOffsets("in", "earliest");
        return earliest!.offset > 20 ? earliest!.offset : undefined;
      });
      committed = (await log.admin.fetchCommittedOffsets("upper", ["in"]))[0]!.offset;
      const producer = log.producer();
      await producer.send(
        "in",
        Array.from({ length: 10 }, (_, i) => ({
          key: null,
          value: Buffer.from(`w${i}`),
          timestamp: Date.now() + 2 * HOUR,
        })),
      );
      await producer.close();
    } finally {
      await log.close();
    }
    expect(committed).toBe(20);
    const lost = logStart - committed;

    const run = spawnCli([
      "run",
      file,
      "--progress",
      "plain",
      "--metrics",
      "127.0.0.1:0",
      "--log-format",
      "json",
      "--data",
      data,
    ]);
    const address = await metricsAddress(run);
    await eventually("the loss on /metrics", async () => {
      const text = await (await fetch(`http://${address}/metrics`)).text();
      const series =
        'tributary_app_records_lost_to_retention_total{topic="in",partition="0",app="upper"}';
      return promSample(text, series) === lost ? true : undefined;
    });
    await eventually("a progress line with the loss", () =>
      new RegExp(`progress: .* lost-to-retention=${lost} `).test(run.stderr()) ? true : undefined,
    );
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    const stderr = run.stderr();
    expect(stderr).toMatch(
      new RegExp(
        `stopped app upper: processed 10 records; .*; ${lost} input offsets lost to retention \\(deleted before they were read`,
      ),
    );
    const logged = jsonLines(
      stderr
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .join("\n"),
    );
    const warning = logged.find((l) => l.event === "records-lost-to-retention");
    expect(warning).toMatchObject({ topic: "in", partition: 0, from: 20, to: logStart });
    expect(warning!.skipped).toBe(lost);
    expect(String(warning!.msg)).toMatch(/longer retention/);
    expect(cli(["consume", "out", "--data", data]).split("\n").filter(Boolean)).toHaveLength(30);
  });
});
