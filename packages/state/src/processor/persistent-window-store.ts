import type { RecordHeaders } from "@tributary/log";
import { type CachedChange, RecordCache, type RecordCacheListener } from "../record-cache.js";
import type { SessionEntry, SessionStore } from "../session/session-store.js";
import type { SegmentedStore } from "../window/segmented-store.js";
import type { WindowEntry, WindowStore } from "../window/window-store.js";
import type { ReadableSessionStore, ReadableWindowStore } from "./processor-stores.js";
import { type WindowCacheListener, WindowRecordCache } from "./window-record-cache.js";

/** A session of a key, as the session record cache holds it. */
interface TimeKey<K> {
  key: K;
  start: number;
  end: number;
}

/** Receives one session's latest change when a session store's record cache flushes. */
export type SessionCacheListener<K, V> = (
  key: K,
  start: number,
  end: number,
  change: CachedChange<V>,
  timestamp: number,
  headers: RecordHeaders,
) => void;

/**
 * The processor-facing window and session stores over this package's WindowStore and
 * SessionStore, with the runtime's half beside them, as the streams runtime's
 * PersistentKeyValueStore does for key-value stores:
 * `prefetchBytes` (every live entry of the batch's keys, so reads are synchronous),
 * `flush`, `commit` (expired segments dropped, changelog append, one engine batch),
 * `commitNeeded`, `close` and `closed`.
 *
 * With a record cache (`enableRecordCache`, the worker's cacheMaxBytes; Kafka's
 * CachingWindowStore / CachingSessionStore with their flush listeners), an aggregation
 * writes with `putCached`: the store is written at once (reads see the latest value) and
 * the window's or session's latest change waits for `flush()` — commit step 1 — or the
 * cache's budget, so one updated many times between two commits goes downstream once,
 * with the value downstream saw last as its old value (Kafka's semantics: the same final
 * results, intermediate updates collapsed; a session created and merged away between two
 * flushes is never forwarded). The store's resident entries collapse its changelog
 * records and engine writes the same way. Windows use WindowRecordCache (found through the
 * window's resident entry), sessions the generic RecordCache.
 */
abstract class PersistentTimeStore<K, V> {
  private closing: Promise<void> | null = null;
  protected recordCacheBytes = 0;
  protected cache: RecordCache<TimeKey<K>, V> | null = null;

  abstract readonly state: SegmentedStore<K>;

  get name(): string {
    return this.state.name;
  }

  /** Set by the task before its processors start (they register in `init`). */
  enableRecordCache(maxBytes: number): void {
    this.recordCacheBytes = maxBytes;
  }

  /** Opens the record cache for a flush listener; false when the cache is off. */
  protected openCache(listener: RecordCacheListener<TimeKey<K>, V>): boolean {
    if (this.recordCacheBytes <= 0) return false;
    this.cache = new RecordCache<TimeKey<K>, V>(this.recordCacheBytes, listener, timeKeyId);
    return true;
  }

  /** Hands every pending change to the flush listener, in first-update order. */
  flushCache(): void {
    this.cache?.flush();
  }

  prefetch(keys: Iterable<K>): Promise<void> {
    return this.state.prefetch(keys);
  }

  prefetchBytes(keys: readonly Buffer[]): Promise<void> {
    return this.state.segments.prefetch(keys);
  }

  /** Forwards the record cache's changes, then writes the dirty entries down. */
  flush(): void {
    this.flushCache();
    this.state.segments.flush();
  }

  /** Entries expire behind the task's event time from now on (see SegmentedBytesStore). */
  expireBy(time: number): void {
    this.state.segments.expireBy(time);
  }

  commit(): Promise<void> {
    return this.state.commit();
  }

  commitNeeded(): boolean {
    return this.state.commitNeeded();
  }

  approximateNumEntries(): number {
    return 0;
  }

  /** Not flushed: closing without a commit drops what was not committed anyway. */
  close(): void {
    this.cache?.clear();
    this.closing ??= this.state.close();
  }

  closed(): Promise<void> {
    return this.closing ?? Promise.resolve();
  }
}

export class PersistentWindowStore<K, V>
  extends PersistentTimeStore<K, V>
  implements ReadableWindowStore<K, V>
{
  private windowCache: WindowRecordCache<K, V> | null = null;

  constructor(readonly state: WindowStore<K, V>) {
    super();
  }

  /** Returns false when the cache is off: the processor then forwards every update. */
  setFlushListener(listener: WindowCacheListener<K, V>): boolean {
    if (this.recordCacheBytes <= 0) return false;
    this.windowCache = new WindowRecordCache<K, V>(this.recordCacheBytes, listener);
    return true;
  }

  override flushCache(): void {
    this.windowCache?.flush();
  }

  override close(): void {
    this.windowCache?.clear();
    super.close();
  }

  /** `put` that remembers the window's change (old value from the first update since the
   * last flush) for the next flush. False (nothing remembered): the window has expired. */
  putCached(
    key: K,
    windowStart: number,
    value: V | null,
    oldValue: V | null,
    timestamp: number,
    headers: RecordHeaders,
  ): boolean {
    const where = this.state.upsert(key, windowStart, value);
    if (where === false) return false;
    const entry = where === true ? null : where;
    this.windowCache?.put(entry, key, windowStart, value, oldValue, timestamp, headers);
    return true;
  }

  put(key: K, windowStart: number, value: V | null): boolean {
    return this.state.put(key, windowStart, value);
  }

  fetch(key: K, windowStart: number): V | null {
    return this.state.fetch(key, windowStart);
  }

  fetchRange(key: K, from: number, to: number): WindowEntry<K, V>[] {
    return this.state.fetchRange(key, from, to);
  }

  /** Every live window: on the memory engine only (the test driver reads it back). */
  all(): WindowEntry<K, V>[] {
    return this.state.allSync();
  }
}

export class PersistentSessionStore<K, V>
  extends PersistentTimeStore<K, V>
  implements ReadableSessionStore<K, V>
{
  constructor(readonly state: SessionStore<K, V>) {
    super();
  }

  /** Returns false when the cache is off: the processor then forwards every update. */
  setFlushListener(listener: SessionCacheListener<K, V>): boolean {
    return this.openCache((s, change, timestamp, headers) =>
      listener(s.key, s.start, s.end, change, timestamp, headers),
    );
  }

  /** `put` (value null: `remove`) that remembers the session's change for the next
   * flush. False (nothing remembered): the session has expired. */
  putCached(
    key: K,
    start: number,
    end: number,
    value: V | null,
    oldValue: V | null,
    timestamp: number,
    headers: RecordHeaders,
  ): boolean {
    if (value === null) this.state.remove(key, start, end);
    else if (!this.state.put(key, start, end, value)) return false;
    this.cache?.put({ key, start, end }, value, oldValue, timestamp, headers);
    return true;
  }

  put(key: K, start: number, end: number, value: V): boolean {
    return this.state.put(key, start, end, value);
  }

  remove(key: K, start: number, end: number): void {
    this.state.remove(key, start, end);
  }

  findSessions(key: K, earliestEnd: number, latestStart: number): SessionEntry<K, V>[] {
    return this.state.findSessions(key, earliestEnd, latestStart);
  }

  /** Every live session: on the memory engine only (the test driver reads it back). */
  all(): SessionEntry<K, V>[] {
    return this.state.allSync();
  }
}

/** The record cache's map key of a window or session: its times and key (a string when
 * it can be). */
function timeKeyId(t: TimeKey<unknown>): unknown {
  const k = t.key;
  const times = `${t.start}:${t.end}`;
  if (typeof k === "string") return `${times}|${k}`;
  if (typeof k === "number") return `${times}#${k}`;
  if (Buffer.isBuffer(k)) return `${times}b${k.toString("latin1")}`;
  return `${times}j${JSON.stringify(k)}`;
}
