import type { RecordHeaders } from "@tributary/log";
import { type CachedChange, RecordCache } from "../record-cache.js";
import type { SessionEntry, SessionStore } from "../session/session-store.js";
import type { SegmentedStore } from "../window/segmented-store.js";
import type { WindowEntry, WindowStore } from "../window/window-store.js";
import type { ReadableSessionStore, ReadableWindowStore } from "./processor-stores.js";

/**
 * The processor-facing window and session stores over this package's WindowStore and
 * SessionStore, with the runtime's half beside them, as the streams runtime's
 * PersistentKeyValueStore does for key-value stores:
 * `prefetchBytes` (every live entry of the batch's keys, so reads are synchronous),
 * `flush`, `commit` (expired segments dropped, changelog append, one engine batch),
 * `commitNeeded`, `close` and `closed`.
 */
abstract class PersistentTimeStore<K> {
  private closing: Promise<void> | null = null;

  abstract readonly state: SegmentedStore<K>;

  get name(): string {
    return this.state.name;
  }

  prefetch(keys: Iterable<K>): Promise<void> {
    return this.state.prefetch(keys);
  }

  prefetchBytes(keys: readonly Buffer[]): Promise<void> {
    return this.state.segments.prefetch(keys);
  }

  flush(): void {
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

  close(): void {
    this.closing ??= this.state.close();
  }

  closed(): Promise<void> {
    return this.closing ?? Promise.resolve();
  }
}

/** Receives one window's latest change when a window store's record cache flushes. */
export type WindowCacheListener<K, V> = (
  key: K,
  windowStart: number,
  change: CachedChange<V>,
  timestamp: number,
  headers: RecordHeaders,
) => void;

/** A window of a key, as the record cache holds it. */
interface WindowKey<K> {
  key: K;
  start: number;
}

/**
 * The window store a processor sees. With a record cache (`enableRecordCache`, the
 * worker's cacheMaxBytes; Kafka's CachingWindowStore with its flush listener), a windowed
 * aggregation writes with `putCached`: the store is written at once (reads see the latest
 * value) and the window's latest change waits for `flush()` — commit step 1 — or the
 * cache's budget, so a window updated many times between two commits goes downstream
 * once, with the value downstream saw last as its old value (Kafka's semantics: the same
 * final results, intermediate updates collapsed). The write-back cache below collapses
 * its changelog records and engine writes the same way.
 */
export class PersistentWindowStore<K, V>
  extends PersistentTimeStore<K>
  implements ReadableWindowStore<K, V>
{
  private recordCacheBytes = 0;
  private cache: RecordCache<WindowKey<K>, V> | null = null;

  constructor(readonly state: WindowStore<K, V>) {
    super();
  }

  /** Set by the task before its processors start (they register in `init`). */
  enableRecordCache(maxBytes: number): void {
    this.recordCacheBytes = maxBytes;
  }

  /** Returns false when the cache is off: the processor then forwards every update. */
  setFlushListener(listener: WindowCacheListener<K, V>): boolean {
    if (this.recordCacheBytes <= 0) return false;
    this.cache = new RecordCache<WindowKey<K>, V>(
      this.recordCacheBytes,
      (w, change, timestamp, headers) => listener(w.key, w.start, change, timestamp, headers),
      windowId,
    );
    return true;
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
    if (!this.state.put(key, windowStart, value)) return false;
    this.cache?.put({ key, start: windowStart }, value, oldValue, timestamp, headers);
    return true;
  }

  /** Hands every pending change to the flush listener, in first-update order. */
  flushCache(): void {
    this.cache?.flush();
  }

  /** Forwards the record cache's changes, then pushes the write-back cache down. */
  override flush(): void {
    this.flushCache();
    super.flush();
  }

  /** Not flushed: closing without a commit drops what was not committed anyway. */
  override close(): void {
    this.cache?.clear();
    super.close();
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

/** The record cache's map key of a window: its start and key (a string when it can be). */
function windowId(w: WindowKey<unknown>): unknown {
  const k = w.key;
  if (typeof k === "string") return `${w.start}|${k}`;
  if (typeof k === "number") return `${w.start}#${k}`;
  if (Buffer.isBuffer(k)) return `${w.start}b${k.toString("latin1")}`;
  return `${w.start}j${JSON.stringify(k)}`;
}

export class PersistentSessionStore<K, V>
  extends PersistentTimeStore<K>
  implements ReadableSessionStore<K, V>
{
  constructor(readonly state: SessionStore<K, V>) {
    super();
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
