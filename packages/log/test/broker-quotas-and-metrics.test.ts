import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { formatBrokerAddress } from "../src/broker/broker-address.js";
import { connectBroker } from "../src/broker/connect-broker.js";
import { type RunningBroker, startBroker } from "../src/broker/run-broker.js";
import type { LogClient } from "../src/client/log-client.js";
import { tempDir } from "./broker-helpers.js";

const brokers: RunningBroker[] = [];
const clients: LogClient[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  for (const b of brokers) await b.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function brokerWith(options: Partial<Parameters<typeof startBroker>[0]>) {
  const dir = tempDir("tributary-quota-");
  dirs.push(dir);
  const broker = await startBroker({ dataDir: dir, address: "127.0.0.1:0", ...options });
  brokers.push(broker);
  const client = await connectBroker(formatBrokerAddress(broker.address));
  clients.push(client);
  return { broker, client };
}

/** The sample value of one series in Prometheus' text format. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("produce quotas", () => {
  it("hold a producer that sends as fast as it can to its byte rate, within 10%, by delay not error", async () => {
    const rate = 1_000_000;
    const { client } = await brokerWith({ quotas: { default: { produceBytesPerSec: rate } } });
    await client.admin.createTopic("fast", { partitions: 1 });
    const producer = client.producer();
    const value = Buffer.alloc(60 * 1024, 7);
    // The first second is the burst the quota allows; the rate is measured after it.
    const start = Date.now();
    let measuredFrom: { t: number; bytes: number } | undefined;
    let bytes = 0;
    while (Date.now() - start < 6000) {
      await producer.send("fast", [{ value }]);
      bytes += value.length;
      if (measuredFrom === undefined && Date.now() - start >= 1500) {
        measuredFrom = { t: Date.now(), bytes };
      }
    }
    const achieved = ((bytes - measuredFrom!.bytes) / (Date.now() - measuredFrom!.t)) * 1000;
    expect(achieved).toBeGreaterThan(rate * 0.9);
    expect(achieved).toBeLessThan(rate * 1.1);
  }, 300_000); // a hang guard (loaded machines)
});

describe("broker metrics", () => {
  it("count on /metrics exactly the records and bytes produced and fetched, and a group's lag", async () => {
    const { broker, client } = await brokerWith({ metricsListen: "127.0.0.1:0" });
    await client.admin.createTopic("events", { partitions: 2 });
    const producer = client.producer();
    let produced = 0;
    for (let i = 0; i < 20; i++) {
      const batch = Array.from({ length: 250 }, (_, j) => ({
        key: Buffer.from(`k${(i * 250 + j) % 97}`),
        value: Buffer.from(`event ${i * 250 + j}`),
      }));
      await producer.send("events", batch);
      produced += batch.length;
    }
    const consumer = client.consumer({ groupId: "readers", autoOffsetReset: "earliest" });
    await consumer.subscribe(["events"]);
    let consumed = 0;
    const deadline = Date.now() + 60_000;
    while (consumed < 3000 && Date.now() < deadline) {
      for (const p of await consumer.poll({ maxWaitMs: 1000 })) consumed += p.records.length;
    }
    await consumer.commit();
    await consumer.close();

    const text = await (await fetch(`http://${broker.metricsAddress}/metrics`)).text();
    expect(sample(text, 'tributary_broker_produced_records_total{topic="events"}')).toBe(produced);
    expect(
      sample(text, 'tributary_broker_fetched_records_total{topic="events"}'),
    ).toBeGreaterThanOrEqual(consumed);
    const lag = [0, 1].map(
      (p) =>
        sample(
          text,
          `tributary_group_lag_records{group="readers",topic="events",partition="${p}"}`,
        ) ?? 0,
    );
    expect(lag[0]! + lag[1]!).toBe(produced - consumed);
    // 97 keys in every send land in both partitions: one Produce request per partition.
    expect(sample(text, 'tributary_broker_requests_total{api="Produce",outcome="ok"}')).toBe(
      20 * 2,
    );
    expect(text).toMatch(
      /^tributary_broker_request_duration_seconds_bucket\{le="0\.005",api="Produce"\} \d+/m,
    );
  }, 300_000); // a hang guard (loaded machines)
});
