import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { PartitionOffset } from "../client/log-client.js";
import type { LogService } from "../client/log-service.js";
import { RecordBatch, splitBatches } from "../record-batch.js";
import { API_NAMES } from "./protocol.js";

/**
 * What the broker counts, for Prometheus (`tributary broker --metrics 127.0.0.1:9464`):
 *   tributary_broker_requests_total{api,outcome}        outcome ok | error code
 *   tributary_broker_request_duration_seconds{api}      histogram, queueing included
 *   tributary_broker_produced_{bytes,records}_total{topic}
 *   tributary_broker_fetched_{bytes,records}_total{topic}
 *   tributary_broker_connections                         open client connections
 *   tributary_group_lag_records{group,topic,partition}   end offset minus committed, at scrape
 *   tributary_group_members{group}
 * plus Node.js' process metrics (CPU, RSS, event-loop lag). Label values are topic and group
 * names, bounded by what exists; per-partition lag is computed only when scraped.
 */
export class BrokerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"api" | "outcome">;
  private readonly duration: Histogram<"api">;
  private readonly producedBytes: Counter<"topic">;
  private readonly producedRecords: Counter<"topic">;
  private readonly fetchedBytes: Counter<"topic">;
  private readonly fetchedRecords: Counter<"topic">;
  readonly connections: Gauge;

  constructor(service: LogService) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: "tributary_broker_requests_total",
      help: "Requests answered, by api and outcome (ok or the error code)",
      labelNames: ["api", "outcome"],
      registers,
    });
    this.duration = new Histogram({
      name: "tributary_broker_request_duration_seconds",
      help: "Time from a request's arrival to its answer, long-poll waits included",
      labelNames: ["api"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const perTopic = (name: string, help: string) =>
      new Counter({ name, help, labelNames: ["topic"], registers });
    this.producedBytes = perTopic("tributary_broker_produced_bytes_total", "Batch bytes appended");
    this.producedRecords = perTopic("tributary_broker_produced_records_total", "Records appended");
    this.fetchedBytes = perTopic("tributary_broker_fetched_bytes_total", "Batch bytes served");
    this.fetchedRecords = perTopic("tributary_broker_fetched_records_total", "Records served");
    this.connections = new Gauge({
      name: "tributary_broker_connections",
      help: "Open client connections",
      registers,
    });
    new Gauge({
      name: "tributary_group_lag_records",
      help: "Records between a group's committed offset and the partition's end",
      labelNames: ["group", "topic", "partition"],
      registers,
      async collect() {
        this.reset();
        const ends = new Map<string, Promise<PartitionOffset[]>>();
        for (const g of await service.listGroups()) {
          for (const c of await service.fetchOffsets(g.groupId)) {
            let end = ends.get(c.topic);
            if (end === undefined) {
              end = service.listOffsets(c.topic, "latest").catch(() => []);
              ends.set(c.topic, end);
            }
            const latest = (await end).find((o) => o.partition === c.partition)?.offset;
            if (latest === undefined) continue;
            this.set(
              { group: g.groupId, topic: c.topic, partition: String(c.partition) },
              Math.max(0, latest - c.offset),
            );
          }
        }
      },
    });
    new Gauge({
      name: "tributary_group_members",
      help: "Members of each consumer group",
      labelNames: ["group"],
      registers,
      async collect() {
        this.reset();
        for (const g of await service.listGroups()) this.set({ group: g.groupId }, g.members);
      },
    });
  }

  /** One answered request: `outcome` is "ok" or the error code sent back. */
  request(apiKey: number, seconds: number, outcome: string): void {
    const api = API_NAMES.get(apiKey) ?? String(apiKey);
    this.requests.inc({ api, outcome });
    this.duration.observe({ api }, seconds);
  }

  produced(topic: string, batch: Buffer): void {
    this.producedBytes.inc({ topic }, batch.length);
    this.producedRecords.inc({ topic }, new RecordBatch(batch).recordCount);
  }

  fetched(topic: string, records: Buffer): void {
    if (records.length === 0) return;
    this.fetchedBytes.inc({ topic }, records.length);
    let n = 0;
    for (const b of splitBatches(records).batches) n += b.recordCount;
    this.fetchedRecords.inc({ topic }, n);
  }
}
