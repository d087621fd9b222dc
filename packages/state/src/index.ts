// The public surface of @tributary/state. Everything not listed here is internal.
export * from "./errors.js";
export type {
  KeyRange,
  KeyValueBytesStore,
  KeyValueChange,
  KeyValueEngine,
  KeyValueEntry,
} from "./key-value-bytes-store.js";
export { isReservedKey, RESERVED_KEY_PREFIX } from "./key-value-bytes-store.js";
export { KeyValueStore, type KeyValueStoreMetrics, type StoreSerde } from "./key-value-store.js";
export { CachingStore, type CacheStats } from "./caching-store.js";
export { type CachedChange, RecordCache, type RecordCacheListener } from "./record-cache.js";
export { ChangeLoggingStore, type ChangelogTarget } from "./change-logging-store.js";
export { CommitBarrier, type CommitTicket } from "./commit-barrier.js";
export {
  type ChangelogBounds,
  changelogBounds,
  type RestoreOptions,
  type RestoreProgress,
  type RestoreResult,
  restoreFromChangelog,
} from "./changelog-restorer.js";
export { MemoryEngine } from "./memory/memory-engine.js";
export { RocksDbEngine, type RocksDbEngineOptions } from "./rocksdb/rocksdb-engine.js";
export { changelogTopicName, storeDirectory, validateStateName } from "./store-names.js";
export {
  type ChangelogOptions,
  type KeyValueStoreOptions,
  openKeyValueStore,
} from "./store-builder.js";
export { DEFAULT_CACHE_BYTES, KeyValueStoreBuilder } from "./key-value-store-builder.js";
export {
  memoryKeyValueStore,
  memorySessionStore,
  memoryWindowStore,
  type MemoryStoreOptions,
  type MemoryTimeStoreOptions,
} from "./memory/memory-stores.js";
export { SegmentExpiry, segmentIntervalOf } from "./window/segment-expiry.js";
export {
  CHANGELOG_ADDITIONAL_RETENTION_MS,
  windowedChangelogConfig,
} from "./window/windowed-changelog-config.js";
export {
  SegmentedBytesStore,
  type SegmentedEntry,
  type SegmentedOptions,
} from "./window/segmented-bytes-store.js";
export {
  openWindowStore,
  WindowStore,
  type WindowEntry,
  type WindowStoreMetrics,
  type WindowStoreOptions,
} from "./window/window-store.js";
export {
  openSessionStore,
  SessionStore,
  type SessionEntry,
  type SessionStoreOptions,
} from "./session/session-store.js";

// What processors see of a store (the Processor API's views), and the stores that give
// them over the ones above.
export type {
  ObservableKeyValueStore,
  ProcessorKeyValueStore,
  ProcessorSessionStore,
  ProcessorStateStore,
  ProcessorWindowStore,
  ReadableSessionStore,
  ReadableWindowStore,
  ReadOnlyKeyValueStore,
  StateStore,
  StoreChange,
  StoreChangeListener,
} from "./processor/processor-stores.js";
export { InMemoryKeyValueStore } from "./processor/in-memory-key-value-store.js";
export { LoggedMemoryKeyValueStore } from "./processor/logged-memory-key-value-store.js";
export {
  PersistentKeyValueStore,
  type PersistentKeyValueStoreOptions,
} from "./processor/persistent-key-value-store.js";
export {
  PersistentSessionStore,
  PersistentWindowStore,
  type SessionCacheListener,
} from "./processor/persistent-window-store.js";
export type { WindowCacheListener } from "./processor/window-record-cache.js";
