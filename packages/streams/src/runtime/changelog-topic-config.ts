import type { TopicConfig } from "@tributary/log";
import { windowedChangelogConfig } from "@tributary/state";
import type { StoreSpec } from "../topology/node-spec.js";

/**
 * The config a store's changelog topic is created with: compacted, and for window and
 * session stores `compact,delete` with a retention past the store's (@tributary/state's
 * windowedChangelogConfig: their segments expire without tombstones).
 */
export function changelogTopicConfig(store: StoreSpec): Partial<TopicConfig> {
  if (store.type === "key-value" || store.retentionMs === undefined) {
    return { cleanupPolicy: "compact" };
  }
  return windowedChangelogConfig(store.retentionMs);
}

/**
 * Why an existing changelog cannot expire this store's entries, or null when it can: a
 * window or session changelog created before they expired by time (cleanup.policy
 * compact alone) keeps every entry ever written, since no tombstones come any more.
 */
export function changelogConfigProblem(store: StoreSpec, config: TopicConfig): string | null {
  const wanted = changelogTopicConfig(store);
  if (wanted.retentionMs === undefined) return null;
  if (config.cleanupPolicy.includes("delete") && config.retentionMs >= 0) return null;
  return `changelog '${store.changelogTopic}' of ${store.type} store '${store.name}' has cleanup.policy=${config.cleanupPolicy}, retention.ms=${config.retentionMs}: the store drops expired entries without tombstones, so this topic keeps them all; set cleanup.policy=compact,delete and retention.ms=${wanted.retentionMs} on it`;
}
