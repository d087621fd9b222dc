import {
  DEFAULT_TOPIC_CONFIG,
  kafkaConfigName,
  resolveTopicConfig,
  type CleanupPolicy,
  type TopicConfig,
} from "@tributary/log";

/** The Kafka topic configs that TopicConfig reads back, for DescribeConfigs. */
export const DESCRIBED_CONFIG_NAMES: readonly string[] = [
  "cleanup.policy",
  "retention.ms",
  "retention.bytes",
  "segment.bytes",
  "segment.ms",
  "delete.retention.ms",
  "min.compaction.lag.ms",
  "max.message.bytes",
  "index.interval.bytes",
  "flush.messages",
  "flush.ms",
];

/**
 * The Kafka topic configs for the fields a caller set (validated as the embedded log
 * validates them, so a bad value fails the same way before reaching the cluster). Fields
 * not set are left to the cluster's defaults, as `kafka-topics --create` does.
 *
 * Flush policy has no single Kafka name: "always" is `flush.messages=1` (fsync every
 * append), "interval" is `flush.ms=<flushIntervalMs>`, "os" sets nothing (Kafka's default:
 * durability comes from replication, not fsync). Under acks=all an acknowledged record is
 * on every in-sync replica, whatever the flush policy.
 */
export function toKafkaConfigs(
  partial: Partial<TopicConfig> = {},
): { name: string; value: string }[] {
  resolveTopicConfig(partial);
  const out: { name: string; value: string }[] = [];
  for (const [field, value] of Object.entries(partial) as [keyof TopicConfig, unknown][]) {
    if (value === undefined) continue;
    if (field === "flushPolicy" || field === "flushIntervalMs") continue;
    out.push({ name: kafkaConfigName(field), value: String(value) });
  }
  if (partial.flushPolicy === "always") out.push({ name: "flush.messages", value: "1" });
  else if (
    partial.flushPolicy === "interval" ||
    (partial.flushPolicy === undefined && partial.flushIntervalMs !== undefined)
  ) {
    out.push({
      name: "flush.ms",
      value: String(partial.flushIntervalMs ?? DEFAULT_TOPIC_CONFIG.flushIntervalMs),
    });
  }
  return out;
}

/** A topic's TopicConfig from its Kafka configs (DescribeConfigs name → value). */
export function fromKafkaConfigs(entries: ReadonlyMap<string, string | null>): TopicConfig {
  const num = (name: string, fallback: number): number => {
    const raw = entries.get(name);
    if (raw === undefined || raw === null) return fallback;
    const n = Number(raw);
    // Kafka's "never" is Long.MAX_VALUE, beyond a safe integer: keep it as the largest one.
    return Number.isFinite(n) ? Math.min(n, Number.MAX_SAFE_INTEGER) : fallback;
  };
  const d = DEFAULT_TOPIC_CONFIG;
  const flushMessages = num("flush.messages", Number.MAX_SAFE_INTEGER);
  const flushMs = num("flush.ms", Number.MAX_SAFE_INTEGER);
  const cleanup = (entries.get("cleanup.policy") ?? d.cleanupPolicy).replace(/\s/g, "");
  return {
    cleanupPolicy: (cleanup === "delete,compact" ? "compact,delete" : cleanup) as CleanupPolicy,
    retentionMs: num("retention.ms", d.retentionMs),
    retentionBytes: num("retention.bytes", d.retentionBytes),
    segmentBytes: num("segment.bytes", d.segmentBytes),
    segmentMs: num("segment.ms", d.segmentMs),
    deleteRetentionMs: num("delete.retention.ms", d.deleteRetentionMs),
    minCompactionLagMs: num("min.compaction.lag.ms", d.minCompactionLagMs),
    maxMessageBytes: num("max.message.bytes", d.maxMessageBytes),
    indexIntervalBytes: num("index.interval.bytes", d.indexIntervalBytes),
    flushPolicy:
      flushMessages === 1 ? "always" : flushMs < Number.MAX_SAFE_INTEGER ? "interval" : "os",
    flushIntervalMs: flushMs < Number.MAX_SAFE_INTEGER ? flushMs : d.flushIntervalMs,
  };
}
