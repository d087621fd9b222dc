/**
 * The store interfaces processors code against. They mirror the typed key-value store of
 * @tributary/state (sync get/put/delete on the hot path; an async `prefetch` the runtime
 * calls for a whole batch before processing it, so a miss never awaits per record). Any
 * store that @tributary/state builds satisfies them structurally.
 */
export interface StateStore {
  readonly name: string;
  close(): void;
}

export interface ReadOnlyKeyValueStore<K, V> {
  /** The value, or undefined when the key is absent. */
  get(key: K): V | undefined;
  /** Every entry, in key-byte order. */
  all(): IterableIterator<[K, V]>;
  approximateNumEntries(): number;
}

export interface KeyValueStore<K, V> extends StateStore, ReadOnlyKeyValueStore<K, V> {
  /** A null value deletes the key, as Kafka's put does. */
  put(key: K, value: V | null): void;
  /** Deletes the key; returns what it held. */
  delete(key: K): V | undefined;
  /** Loads these keys into memory so the following sync gets hit. */
  prefetch(keys: readonly K[]): Promise<void>;
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

/** A store that reports its changes to listeners (a tap for application code). */
export interface ObservableKeyValueStore<K, V> extends KeyValueStore<K, V> {
  addChangeListener(listener: StoreChangeListener<K, V>): () => void;
}
