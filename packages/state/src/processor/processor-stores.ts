import type { SessionStoreEntry, WindowStoreEntry } from "../windows/window-store.js";

/**
 * The stores a custom processor gets from `context.getStateStore(name)`, by the kind its
 * StoreBuilder made. Named apart from @tributary/state's KeyValueStore, WindowStore and
 * SessionStore (the engines underneath, with asynchronous reads and commits that only the
 * runtime calls): these are the synchronous views a processor codes against.
 *
 * Reads are synchronous. A persistent store (RocksDB) serves, during a batch, the keys of
 * the records arriving at the task — the runtime prefetches them, mapped to the store's
 * key serde — and every key written since; any other key throws PrefetchMissError. Key
 * a persistent store by the record key, or use `Stores.inMemoryKeyValueStore`, which
 * holds everything in memory (still change-logged and restored) and reads any key.
 */
export interface ProcessorStateStore {
  readonly name: string;
}

export interface ProcessorKeyValueStore<K, V> extends ProcessorStateStore {
  /** The value, or undefined when the key is absent. */
  get(key: K): V | undefined;
  /** A null value deletes the key. */
  put(key: K, value: V | null): void;
  /** Deletes the key; returns what it held. */
  delete(key: K): V | undefined;
  /** Every entry in key-byte order: in-memory stores only (a persistent one throws). */
  all(): IterableIterator<[K, V]>;
  approximateNumEntries(): number;
}

/** Values per key and window start; entries older than the retention behind stream time
 * expire. */
export interface ProcessorWindowStore<K, V> extends ProcessorStateStore {
  /** A null value deletes; with duplicates retained every put adds. False: expired. */
  put(key: K, windowStart: number, value: V | null): boolean;
  fetch(key: K, windowStart: number): V | null;
  /** The key's windows with from <= start <= to, by start, then put order. */
  fetchRange(key: K, from: number, to: number): WindowStoreEntry<K, V>[];
}

/** Sessions per key, each [start, end]; expire by their end like windows. */
export interface ProcessorSessionStore<K, V> extends ProcessorStateStore {
  /** False: the session ended too long ago (expired). */
  put(key: K, start: number, end: number, value: V): boolean;
  remove(key: K, start: number, end: number): void;
  /** Sessions ending at or after `earliestEnd` and starting at or before `latestStart`. */
  findSessions(key: K, earliestEnd: number, latestStart: number): SessionStoreEntry<K, V>[];
}
