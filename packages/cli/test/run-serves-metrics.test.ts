import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  UPPER_APP,
  appDir,
  cleanup,
  cli,
  eventually,
  spawnCli,
  tempDir,
  expectCaughtUpAndReady,
  metricsAddress,
  promSample,
} from "./helpers.js";

afterEach(cleanup);

/** Starts `args` with --metrics on a free port; resolves once it prints the address. */
async function startWithMetrics(args: string[]) {
  const run = spawnCli([...args, "--metrics", "127.0.0.1:0", "--progress", "plain"]);
  return { run, address: await metricsAddress(run) };
}

/** /metrics once `series` reads `value`. */
function scrapeWhen(address: string, series: string, value: number): Promise<string> {
  return eventually(`${series} at ${value} on /metrics`, async () => {
    const text = await (await fetch(`http://${address}/metrics`)).text();
    return promSample(text, series) === value ? text : undefined;
  });
}

describe("tributary run --metrics", () => {
  it("serves the run's processed and dead-lettered counts, its lag and readiness for Prometheus", async () => {
    const data = tempDir();
    const apps = appDir();
    const file = path.join(apps, "upper.ts");
    fs.writeFileSync(file, UPPER_APP);
    cli(["topics", "create", "in", "--partitions", "2", "--data", data]);
    cli(["topics", "create", "out", "--partitions", "2", "--data", data]);
    cli(["produce", "in", "--data", data], {
      input: Array.from({ length: 700 }, (_, i) => `v${i}`).join("\n"),
    });
    const { run, address } = await startWithMetrics(["run", file, "--data", data]);
    const metrics = await scrapeWhen(
      address,
      'tributary_app_records_processed_total{app="upper"}',
      700,
    );
    expect(promSample(metrics, 'tributary_app_records_dead_lettered_total{app="upper"}')).toBe(0);
    expect(promSample(metrics, 'tributary_app_workers{state="wanted",app="upper"}')).toBe(1);
    await expectCaughtUpAndReady(address, 'tributary_app_lag_records{app="upper"}');
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  });
});

// `tributary connect run --metrics` serves, as `tributary run --metrics` does, the totals
// its supervisor gathers from the worker processes: here a files sink putting 150 records.
describe("tributary connect run --metrics", () => {
  it("serves the records the connectors moved, their lag, the workers and readiness for Prometheus", async () => {
    const data = tempDir();
    cli(["topics", "create", "events", "--partitions", "2", "--data", data]);
    cli(["produce", "events", "--format", "json", "--value-serde", "json", "--data", data], {
      input: Array.from({ length: 150 }, (_, i) =>
        JSON.stringify({ key: `k${i}`, value: { id: i } }),
      ).join("\n"),
    });
    const file = path.join(tempDir(), "sink.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        connectors: [
          {
            name: "events-files",
            type: "files-sink",
            topics: ["events"],
            config: { path: tempDir(), format: "jsonl" },
          },
        ],
      }),
    );
    const { run, address } = await startWithMetrics([
      "connect",
      "run",
      file,
      "--workers",
      "2",
      "--data",
      data,
    ]);
    const label = '{connect="sink.json"}';
    const metrics = await scrapeWhen(
      address,
      `tributary_connect_records_processed_total${label}`,
      150,
    );
    expect(promSample(metrics, `tributary_connect_records_dead_lettered_total${label}`)).toBe(0);
    expect(
      promSample(metrics, 'tributary_connect_workers{state="wanted",connect="sink.json"}'),
    ).toBe(2);
    expect(metrics).not.toMatch(/tributary_app_/);
    await expectCaughtUpAndReady(address, `tributary_connect_lag_records${label}`);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  });
});
