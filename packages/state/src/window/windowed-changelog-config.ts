import type { TopicConfig } from "@tributary/log";

/**
 * How much longer than its store a window or session store's changelog keeps records
 * (Kafka Streams' windowstore.changelog.additional.retention.ms, default one day). The
 * log's retention goes by a record's append time (wall clock) while the store's goes by
 * event time, so the margin covers a stream whose event time lags its processing.
 */
export const CHANGELOG_ADDITIONAL_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * The changelog config of a window or session store keeping entries `retentionMs` behind
 * its newest time: `compact,delete` with retention.ms = retentionMs +
 * CHANGELOG_ADDITIONAL_RETENTION_MS, as Kafka Streams creates them. The store drops
 * expired segments whole without a tombstone per entry (SegmentedBytesStore), so the
 * changelog forgets those entries by time instead of by compaction.
 */
export function windowedChangelogConfig(retentionMs: number): Partial<TopicConfig> {
  return {
    cleanupPolicy: "compact,delete",
    retentionMs: retentionMs + CHANGELOG_ADDITIONAL_RETENTION_MS,
  };
}
