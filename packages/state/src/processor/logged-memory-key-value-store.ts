import type { Serde } from "@tributary/log";
import { StateStoreError } from "../errors.js";
import type { KeyValueStore as StateKeyValueStore } from "../key-value-store.js";
import { InMemoryKeyValueStore } from "./in-memory-key-value-store.js";
import type { ProcessorKeyValueStore, StateStore } from "./processor-stores.js";

/**
 * A key-value store kept whole in memory and backed by a KeyValueStore of this package for
 * its changelog (Kafka's in-memory suppression buffer, InMemoryTimeOrderedKeyValueBuffer):
 * for the stores a processor scans synchronously — the suppression buffer, a join's
 * pending records — which a RocksDB store cannot do inside processing. `open` loads what
 * the state store restored; every write goes to both, so commit appends it to the
 * changelog and a restart restores it.
 */
export class LoggedMemoryKeyValueStore<K, V> implements ProcessorKeyValueStore<K, V>, StateStore {
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly memory: InMemoryKeyValueStore<K, V>,
    readonly inner: StateKeyValueStore<K, V>,
  ) {}

  static async open<K, V>(
    inner: StateKeyValueStore<K, V>,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): Promise<LoggedMemoryKeyValueStore<K, V>> {
    const memory = new InMemoryKeyValueStore<K, V>(inner.name, keySerde, valueSerde);
    for await (const [k, v] of inner.all()) memory.put(k, v);
    return new LoggedMemoryKeyValueStore(memory, inner);
  }

  /** `open` over a store whose engine scans synchronously (memory: the test driver). */
  static openSync<K, V>(
    inner: StateKeyValueStore<K, V>,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): LoggedMemoryKeyValueStore<K, V> {
    const entries = inner.allSync();
    if (entries === undefined) {
      throw new StateStoreError(
        "INVALID_ARGUMENT",
        `store '${inner.name}' is on RocksDB: open it with LoggedMemoryKeyValueStore.open`,
      );
    }
    const memory = new InMemoryKeyValueStore<K, V>(inner.name, keySerde, valueSerde);
    for (const [k, v] of entries) memory.put(k, v);
    return new LoggedMemoryKeyValueStore(memory, inner);
  }

  get name(): string {
    return this.inner.name;
  }

  get(key: K): V | undefined {
    return this.memory.get(key);
  }

  put(key: K, value: V | null): void {
    this.memory.put(key, value);
    this.inner.put(key, value);
  }

  delete(key: K): V | undefined {
    const old = this.memory.delete(key);
    if (old !== undefined) this.inner.delete(key);
    return old;
  }

  all(): IterableIterator<[K, V]> {
    return this.memory.all();
  }

  approximateNumEntries(): number {
    return this.memory.approximateNumEntries();
  }

  prefetch(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to read from disk: every entry is in memory. */
  prefetchBytes(): Promise<void> {
    return Promise.resolve();
  }

  flush(): void {
    this.inner.flush();
  }

  commit(): Promise<void> {
    return this.inner.commit();
  }

  commitNeeded(): boolean {
    return this.inner.commitNeeded();
  }

  close(): void {
    this.memory.close();
    this.closing ??= this.inner.close();
  }

  closed(): Promise<void> {
    return this.closing ?? Promise.resolve();
  }
}
