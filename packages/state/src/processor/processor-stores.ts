import type { SessionEntry } from "../session/session-store.js";
import type { WindowEntry } from "../window/window-store.js";

/**
 * The stores processors code against — a custom processor from
 * `context.getStateStore(name)`, and the DSL's own operators alike. Named apart from this
 * package's KeyValueStore, WindowStore and SessionStore (the typed stores over the
 * engine, with asynchronous reads and commits that only the runtime calls): these are the
 * synchronous views a processor sees.
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

/** A store a task holds (Kafka's StateStore): the task closes it, processors never do. */
export interface StateStore extends ProcessorStateStore {
  close(): void;
}

/** Reads only (Kafka's ReadOnlyKeyValueStore): what a global table gives processors. */
export interface ReadOnlyKeyValueStore<K, V> {
  /** The value, or undefined when the key is absent. */
  get(key: K): V | undefined;
  /** Every entry in key-byte order: in-memory stores only (a persistent one throws). */
  all(): IterableIterator<[K, V]>;
  approximateNumEntries(): number;
}

export interface ProcessorKeyValueStore<K, V>
  extends ProcessorStateStore,
    ReadOnlyKeyValueStore<K, V> {
  /** A null value deletes the key, as Kafka's put does. */
  put(key: K, value: V | null): void;
  /** Deletes the key; returns what it held. */
  delete(key: K): V | undefined;
}

/** One change to a store, for observers (`storeChanges$`). */
export interface StoreChange<K, V> {
  store: string;
  key: K;
  /** null when the key was deleted. */
  newValue: V | null;
  oldValue: V | null;
}

export type StoreChangeListener<K, V> = (change: StoreChange<K, V>) => void;

/** A key-value store that reports its changes to listeners (a tap for application code). */
export interface ObservableKeyValueStore<K, V> extends ProcessorKeyValueStore<K, V>, StateStore {
  /** Loads these keys into memory so the following sync gets hit. */
  prefetch(keys: readonly K[]): Promise<void>;
  addChangeListener(listener: StoreChangeListener<K, V>): () => void;
}

/** Values per key and window start; entries older than the retention behind stream time
 * expire. */
export interface ProcessorWindowStore<K, V> extends ProcessorStateStore {
  /** A null value deletes; with duplicates retained every put adds. False: expired. */
  put(key: K, windowStart: number, value: V | null): boolean;
  fetch(key: K, windowStart: number): V | null;
  /** The key's windows with from <= start <= to, by start, then put order. */
  fetchRange(key: K, from: number, to: number): WindowEntry<K, V>[];
}

/** Sessions per key, each [start, end]; expire by their end like windows. */
export interface ProcessorSessionStore<K, V> extends ProcessorStateStore {
  /** False: the session ended too long ago (expired). */
  put(key: K, start: number, end: number, value: V): boolean;
  remove(key: K, start: number, end: number): void;
  /** Sessions ending at or after `earliestEnd` and starting at or before `latestStart`. */
  findSessions(key: K, earliestEnd: number, latestStart: number): SessionEntry<K, V>[];
}

/** A window store the test driver reads back whole (memory engine only). */
export interface ReadableWindowStore<K, V> extends ProcessorWindowStore<K, V>, StateStore {
  prefetch(keys: Iterable<K>): Promise<void>;
  all(): WindowEntry<K, V>[];
}

/** A session store the test driver reads back whole (memory engine only). */
export interface ReadableSessionStore<K, V> extends ProcessorSessionStore<K, V>, StateStore {
  prefetch(keys: Iterable<K>): Promise<void>;
  all(): SessionEntry<K, V>[];
}
