import type { RecordHeaders } from "@tributary/log";
import type {
  PersistentSessionStore,
  PersistentWindowStore,
  SessionCacheListener,
  WindowCacheListener,
} from "@tributary/state";
import type { Change } from "../runtime/change.js";

/** Receives a cached aggregate's latest change when its record cache flushes. */
export type CacheFlushListener<K, V> = (
  key: K,
  change: Change<V>,
  timestamp: number,
  headers: RecordHeaders,
) => void;

/**
 * A store with a record cache (Kafka's CachingKeyValueStore.setFlushListener): an
 * aggregation writes through `putCached` and forwards nothing itself; the store hands the
 * latest change per key to the listener when its cache flushes (at commit, or when it
 * holds more than its budget), so a key updated a thousand times between commits goes
 * downstream once. The change's old value is the key's value as of the previous flush,
 * so downstream KTable operations retract what they saw last.
 */
export interface RecordCachingStore<K, V> {
  /** Returns false when the cache is off: the processor then forwards every update. */
  setFlushListener(listener: CacheFlushListener<K, V>): boolean;
  /** `put` that remembers the change (old value from the first update since the last
   * flush, new value, timestamp and headers from this one) for the next flush. */
  putCached(
    key: K,
    value: V | null,
    oldValue: V | null,
    timestamp: number,
    headers: RecordHeaders,
  ): void;
}

/** The store as a RecordCachingStore when it has a record cache that is on, else null. */
export function recordCache<K, V>(
  store: object,
  listener: CacheFlushListener<K, V>,
): RecordCachingStore<K, V> | null {
  const s = store as Partial<RecordCachingStore<K, V>>;
  if (typeof s.setFlushListener !== "function" || typeof s.putCached !== "function") return null;
  return s.setFlushListener(listener) ? (store as RecordCachingStore<K, V>) : null;
}

/** The window store's record cache (Kafka's CachingWindowStore.setFlushListener). */
export type WindowRecordCachingStore<K, V> = Pick<
  PersistentWindowStore<K, V>,
  "setFlushListener" | "putCached"
>;

/** The session store's record cache (Kafka's CachingSessionStore.setFlushListener). */
export type SessionRecordCachingStore<K, V> = Pick<
  PersistentSessionStore<K, V>,
  "setFlushListener" | "putCached"
>;

/** The store as a WindowRecordCachingStore when its record cache is on, else null. */
export function windowRecordCache<K, V>(
  store: object,
  listener: WindowCacheListener<K, V>,
): WindowRecordCachingStore<K, V> | null {
  return recordCache(store, listener as never) as WindowRecordCachingStore<K, V> | null;
}

/** The store as a SessionRecordCachingStore when its record cache is on, else null. */
export function sessionRecordCache<K, V>(
  store: object,
  listener: SessionCacheListener<K, V>,
): SessionRecordCachingStore<K, V> | null {
  return recordCache(store, listener as never) as SessionRecordCachingStore<K, V> | null;
}
