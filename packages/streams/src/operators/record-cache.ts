import type { RecordHeaders } from "@tributary/log";
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

/** Receives a cached windowed aggregate's latest change of one window at flush. */
export type WindowCacheFlushListener<K, V> = (
  key: K,
  windowStart: number,
  change: Change<V>,
  timestamp: number,
  headers: RecordHeaders,
) => void;

/** RecordCachingStore for window stores (Kafka's CachingWindowStore.setFlushListener). */
export interface WindowRecordCachingStore<K, V> {
  setFlushListener(listener: WindowCacheFlushListener<K, V>): boolean;
  /** `put` remembering the window's change for the next flush; false: it expired. */
  putCached(
    key: K,
    windowStart: number,
    value: V | null,
    oldValue: V | null,
    timestamp: number,
    headers: RecordHeaders,
  ): boolean;
}

/** The store as a WindowRecordCachingStore when its record cache is on, else null. */
export function windowRecordCache<K, V>(
  store: object,
  listener: WindowCacheFlushListener<K, V>,
): WindowRecordCachingStore<K, V> | null {
  return recordCache(store, listener as never) as WindowRecordCachingStore<K, V> | null;
}
