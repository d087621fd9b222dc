import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UPPER_APP, appDir, cleanup, cli, eventually, spawnCli, tempDir } from "./helpers.js";

afterEach(cleanup);

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
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
    const run = spawnCli([
      "run",
      file,
      "--metrics",
      "127.0.0.1:0",
      "--progress",
      "plain",
      "--data",
      data,
    ]);
    const address = await eventually(
      "the metrics address",
      () => /metrics on http:\/\/(\S+)\/metrics/.exec(run.stderr())?.[1],
    );
    const metrics = await eventually("all 700 records processed, seen on /metrics", async () => {
      const text = await (await fetch(`http://${address}/metrics`)).text();
      return sample(text, 'tributary_app_records_processed_total{app="upper"}') === 700
        ? text
        : undefined;
    });
    expect(sample(metrics, 'tributary_app_records_dead_lettered_total{app="upper"}')).toBe(0);
    expect(sample(metrics, 'tributary_app_workers{state="wanted",app="upper"}')).toBe(1);
    await eventually("lag 0 and ready", async () => {
      const text = await (await fetch(`http://${address}/metrics`)).text();
      const ready = await fetch(`http://${address}/readyz`);
      return sample(text, 'tributary_app_lag_records{app="upper"}') === 0 && ready.status === 200
        ? true
        : undefined;
    });
    expect((await fetch(`http://${address}/healthz`)).status).toBe(200);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  });
});
