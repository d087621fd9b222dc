import type { LogClient } from "@tributary/log";
import { QUERY_ENDPOINTS_TOPIC, type QueryEndpoint, parseQueryEndpoint } from "./query-endpoint.js";

const READ_TIMEOUT_MS = 30_000;

/**
 * The live query endpoints of one app, read from QUERY_ENDPOINTS_TOPIC from its start to
 * the end it has now (the latest record per worker; tombstones and endpoints older than
 * three of their intervals dropped: a worker that stopped or died).
 */
export async function readQueryEndpoints(
  log: LogClient,
  applicationId: string,
  clientId: string,
): Promise<QueryEndpoint[]> {
  const topics = await log.admin.listTopics({ includeInternal: true });
  if (!topics.includes(QUERY_ENDPOINTS_TOPIC)) return [];
  const starts = await log.admin.listOffsets(QUERY_ENDPOINTS_TOPIC, "earliest");
  const ends = await log.admin.listOffsets(QUERY_ENDPOINTS_TOPIC, "latest");
  const remaining = new Map<number, number>();
  for (const e of ends) {
    const start = starts.find((s) => s.partition === e.partition)?.offset ?? 0;
    if (e.offset > start) remaining.set(e.partition, e.offset);
  }
  const latest = new Map<string, Buffer | null>();
  const prefix = `${applicationId}/`;
  if (remaining.size > 0) {
    const consumer = log.consumer({ clientId, autoOffsetReset: "earliest" });
    try {
      consumer.assign(starts.map((s) => ({ topic: s.topic, partition: s.partition })));
      for (const s of starts) consumer.seek(s, s.offset);
      const deadline = Date.now() + READ_TIMEOUT_MS;
      while (remaining.size > 0 && Date.now() < deadline) {
        for (const fetched of await consumer.poll({ maxWaitMs: 500 })) {
          const end = remaining.get(fetched.partition) ?? 0;
          for (const r of fetched.records) {
            if (r.offset >= end) break;
            const key = r.key?.toString("utf8");
            if (key?.startsWith(prefix)) latest.set(key, r.value);
          }
          const last = fetched.records.at(-1);
          if (last !== undefined && last.offset + 1 >= end) remaining.delete(fetched.partition);
        }
      }
    } finally {
      await consumer.close().catch(() => {});
    }
  }
  const now = Date.now();
  const live: QueryEndpoint[] = [];
  for (const value of latest.values()) {
    const e = value === null ? null : parseQueryEndpoint(value);
    if (e === null || e.applicationId !== applicationId) continue;
    if (now - e.publishedAt > 3 * e.intervalMs) continue;
    live.push(e);
  }
  return live;
}
