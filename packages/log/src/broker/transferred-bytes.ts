import type { BrokerMetrics } from "./broker-metrics.js";
import { ApiKey } from "./protocol.js";

/**
 * The record bytes a produce request carried or a fetch answer returned (other requests
 * move none: `kind` undefined), counted per topic in `metrics` on the way: what quotas
 * charge the principal for.
 */
export function transferredBytes(
  apiKey: number,
  body: Record<string, unknown>,
  answer: unknown,
  metrics: BrokerMetrics | undefined,
): { kind: "produce" | "fetch" | undefined; bytes: number } {
  let bytes = 0;
  let kind: "produce" | "fetch" | undefined;
  if (apiKey === ApiKey.Produce && body.batch instanceof Uint8Array) {
    kind = "produce";
    const batch = Buffer.from(body.batch.buffer, body.batch.byteOffset, body.batch.byteLength);
    bytes = batch.length;
    metrics?.produced(String(body.topic), batch);
  } else if (apiKey === ApiKey.Fetch && Array.isArray(answer)) {
    kind = "fetch";
    for (const p of answer as { topic: string; records?: Buffer }[]) {
      if (p.records === undefined) continue;
      bytes += p.records.length;
      metrics?.fetched(p.topic, p.records);
    }
  }
  return { kind, bytes };
}
