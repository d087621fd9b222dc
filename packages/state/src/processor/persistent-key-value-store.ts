import type { RecordHeaders } from "@tributary/log";
import { KeyNotPrefetchedError, StateStoreError } from "../errors.js";
import type { KeyValueStore as StateKeyValueStore } from "../key-value-store.js";
import { RecordCache, type RecordCacheListener } from "../record-cache.js";
import type {
  ObservableKeyValueStore,
  StoreChange,
  StoreChangeListener,
} from "./processor-stores.js";

export interface PersistentKeyValueStoreOptions {
  /**
   * The error a read of a key that was not prefetched throws, made from the engine's
   * KeyNotPrefetchedError (the streams runtime names the task and what to do). Default:
   * that error itself.
   */
  onMiss?: (error: KeyNotPrefetchedError) => Error;
}

/**
 * The processor-facing key-value store (ObservableKeyValueStore) over this package's
 * typed KeyValueStore: one store, two views, as PersistentWindowStore is for windows. The
 * typed store is the engine (RocksDB behind the write-back cache and change-logging,
 * typed by the store's serdes); this class only maps the processor contract onto it —
 * absent is `undefined` rather than null, `delete` returns the old value, change
 * listeners for `storeChanges$` — and gives the runtime the asynchronous half
 * (`prefetchBytes`, `commit`, `closed`) that processors never see.
 *
 * A read of a key the runtime did not prefetch throws `options.onMiss`'s error.
 *
 * The record cache (`recordCacheBytes` > 0; RecordCache): an aggregation that registers a
 * flush listener (`setFlushListener`, streams' RecordCachingStore) writes with
 * `putCached`; the store writes through at once (reads see the latest value) and the
 * cache keeps the latest change per key for the listener, handed on at `flush()` (commit
 * step 1) or past the budget.
 */
export class PersistentKeyValueStore<K, V> implements ObservableKeyValueStore<K, V> {
  private listeners: StoreChangeListener<K, V>[] = [];
  private count = 0;
  private closing: Promise<void> | null = null;
  /** The record cache, once an aggregation registered its flush listener. */
  private cache: RecordCache<K, V> | null = null;

  /** Record cache budget; 0 (the default) forwards every update. */
  recordCacheBytes = 0;

  constructor(
    readonly inner: StateKeyValueStore<K, V>,
    private readonly options: PersistentKeyValueStoreOptions = {},
  ) {}

  /** Set by the task before its processors start (they register in `init`). */
  enableRecordCache(maxBytes: number): void {
    this.recordCacheBytes = maxBytes;
  }

  setFlushListener(listener: RecordCacheListener<K, V>): boolean {
    if (this.recordCacheBytes <= 0) return false;
    this.cache = new RecordCache(this.recordCacheBytes, listener);
    return true;
  }

  putCached(
    key: K,
    value: V | null,
    oldValue: V | null,
    timestamp: number,
    headers: RecordHeaders,
  ): void {
    if (value === null) this.delete(key);
    else this.put(key, value);
    this.cache?.put(key, value, oldValue, timestamp, headers);
  }

  /** Keys whose change awaits the next flush: the runtime keeps them prefetched in the
   * task's other stores, which processors downstream of the flush may read. */
  pendingKeys(): IterableIterator<K> | null {
    return this.cache?.pendingKeys() ?? null;
  }

  /** Hands every pending change to the flush listener, in first-update order. */
  flushCache(): void {
    this.cache?.flush();
  }

  get name(): string {
    return this.inner.name;
  }

  get(key: K): V | undefined {
    try {
      const v = this.inner.get(key);
      return v === null ? undefined : v;
    } catch (e) {
      if (e instanceof KeyNotPrefetchedError && this.options.onMiss !== undefined) {
        throw this.options.onMiss(e);
      }
      throw e;
    }
  }

  put(key: K, value: V | null): void {
    if (this.listeners.length > 0) {
      const old = this.get(key);
      this.inner.put(key, value);
      this.emit({ store: this.name, key, newValue: value, oldValue: old ?? null });
      return;
    }
    this.inner.put(key, value);
  }

  delete(key: K): V | undefined {
    const old = this.get(key);
    if (old === undefined) return undefined;
    this.inner.delete(key);
    if (this.listeners.length > 0) {
      this.emit({ store: this.name, key, newValue: null, oldValue: old });
    }
    return old;
  }

  /**
   * On the memory engine (the test driver), every entry. RocksDB reads are asynchronous,
   * so a synchronous scan cannot exist there; processors read by key. Tools scan with
   * `inner.range()` outside processing.
   */
  all(): IterableIterator<[K, V]> {
    const sync = this.inner.allSync();
    if (sync !== undefined) return sync;
    throw new StateStoreError(
      "INVALID_ARGUMENT",
      `store '${this.name}' is persistent: it cannot be scanned synchronously inside processing; read it by key, or scan it with inner.range() outside the task`,
    );
  }

  /** The count at the last commit (RocksDB's estimate plus what the cache held). */
  approximateNumEntries(): number {
    // the memory engine (the test driver) counts now; RocksDB's estimate is async
    const sync = this.inner.allSync();
    if (sync === undefined) return this.count;
    let n = 0;
    for (const _ of sync) n++;
    return n;
  }

  prefetch(keys: readonly K[]): Promise<void> {
    return this.inner.prefetch(keys);
  }

  /** Prefetches keys already in the store's key encoding (the runtime's fast path). */
  prefetchBytes(keys: readonly Buffer[]): Promise<void> {
    this.inner.metrics.prefetchedKeys += keys.length;
    return this.inner.bytes.prefetch(keys);
  }

  addChangeListener(listener: StoreChangeListener<K, V>): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Forwards the record cache's changes, then pushes the write-back cache into the
   * change-logging layer (commit step 1). */
  flush(): void {
    this.flushCache();
    this.inner.flush();
  }

  /** Changelog append, then one RocksDB batch with the data and the changelog offset. */
  async commit(): Promise<void> {
    await this.inner.commit();
    this.count = await this.inner.approximateCount();
  }

  commitNeeded(): boolean {
    return this.inner.commitNeeded();
  }

  /** StreamTask closes stores synchronously; the runtime awaits `closed()` after it. */
  close(): void {
    this.listeners = [];
    // not flushed: closing without a commit drops what was not committed anyway
    this.cache?.clear();
    this.closing ??= this.inner.close();
  }

  closed(): Promise<void> {
    return this.closing ?? Promise.resolve();
  }

  private emit(change: StoreChange<K, V>): void {
    for (const l of this.listeners) l(change);
  }
}
