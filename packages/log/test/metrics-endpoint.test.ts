import { afterEach, describe, expect, it } from "vitest";
import { BrokerMetrics } from "../src/broker/broker-metrics.js";
import { EmbeddedLogService } from "../src/embedded-log-service.js";
import { InvalidArgumentError } from "../src/errors.js";
import { type RunningMetricsServer, startMetricsServer } from "../src/metrics/metrics-server.js";
import { encodeBatch } from "../src/record-batch.js";
import { ServiceLogClient } from "../src/client/service-log-client.js";
import { removeTempDirs, tempDir } from "./storage-helpers.js";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
  removeTempDirs();
});

async function scrape(server: RunningMetricsServer, path: string) {
  const res = await fetch(`http://${server.address}${path}`);
  return { status: res.status, text: await res.text() };
}

/** The sample value of one series in Prometheus' text format, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("the metrics endpoint", () => {
  it("serves produced and fetched counts per topic and each group's lag, computed at scrape", async () => {
    const service = await EmbeddedLogService.open(tempDir());
    const client = new ServiceLogClient(service);
    open.push(client);
    await client.admin.createTopic("orders", { partitions: 2 });
    const metrics = new BrokerMetrics(service);
    const server = await startMetricsServer({ listen: "127.0.0.1:0", registry: metrics.registry });
    open.push(server);

    const records = Array.from({ length: 30 }, (_, i) => ({ value: Buffer.from(`order ${i}`) }));
    const batch = encodeBatch(records);
    await service.produce("orders", 0, batch);
    metrics.produced("orders", batch);
    const [fetched] = await service.fetch(
      [{ topic: "orders", partition: 0, offset: 0, maxBytes: 1 << 20 }],
      {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
      },
    );
    metrics.fetched("orders", fetched!.records);
    metrics.request(7, 0.002, "ok");
    await client.admin.resetOffsets(
      "billing",
      { to: "offset", offset: 12 },
      { topics: ["orders"] },
    );

    const { status, text } = await scrape(server, "/metrics");
    expect(status).toBe(200);
    expect(sample(text, 'tributary_broker_produced_records_total{topic="orders"}')).toBe(30);
    expect(sample(text, 'tributary_broker_produced_bytes_total{topic="orders"}')).toBe(
      batch.length,
    );
    expect(sample(text, 'tributary_broker_fetched_records_total{topic="orders"}')).toBe(30);
    expect(sample(text, 'tributary_broker_requests_total{api="Produce",outcome="ok"}')).toBe(1);
    expect(
      sample(text, 'tributary_group_lag_records{group="billing",topic="orders",partition="0"}'),
    ).toBe(18);
    expect(
      sample(text, 'tributary_group_lag_records{group="billing",topic="orders",partition="1"}'),
    ).toBe(0);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it("answers /healthz, and /readyz with the reason while not ready", async () => {
    const service = await EmbeddedLogService.open(tempDir());
    open.push({ close: () => service.close() });
    let ready: true | string = "restoring 2 of 3 stores";
    const server = await startMetricsServer({
      listen: "127.0.0.1:0",
      registry: new BrokerMetrics(service).registry,
      ready: () => ready,
    });
    open.push(server);
    expect(await scrape(server, "/healthz")).toEqual({ status: 200, text: "ok\n" });
    expect(await scrape(server, "/readyz")).toEqual({
      status: 503,
      text: "not ready: restoring 2 of 3 stores\n",
    });
    ready = true;
    expect((await scrape(server, "/readyz")).status).toBe(200);
    expect((await scrape(server, "/nope")).status).toBe(404);
  });

  it("refuses an address it cannot parse, naming it", async () => {
    const service = await EmbeddedLogService.open(tempDir());
    open.push({ close: () => service.close() });
    const registry = new BrokerMetrics(service).registry;
    await expect(startMetricsServer({ listen: "localhost", registry })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(startMetricsServer({ listen: "1.2.3.4:99999", registry })).rejects.toThrow(
      /metrics address '1.2.3.4:99999'/,
    );
  });
});
