import type { Serde } from "@tributary/log";
import type {
  ObservableKeyValueStore,
  StoreChange,
  StoreChangeListener,
} from "./processor-stores.js";

/**
 * A key-value store in a Map, for the test driver and for tasks without durable state.
 * Keys and values are held serialized, as a real store holds them: two keys are the same
 * key when their bytes are, and a processor that mutates an object it put cannot change
 * what the store holds (old values stay old). Not thread-safe; one task owns it.
 */
export class InMemoryKeyValueStore<K, V> implements ObservableKeyValueStore<K, V> {
  // key bytes as a latin1 string (one char per byte, so byte order = string order)
  private readonly map = new Map<string, Buffer>();
  private listeners: StoreChangeListener<K, V>[] = [];
  private open = true;

  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
  ) {}

  get(key: K): V | undefined {
    const bytes = this.map.get(this.keyString(key));
    return bytes === undefined ? undefined : this.valueSerde.deserialize(bytes);
  }

  put(key: K, value: V | null): void {
    if (value === null) {
      this.delete(key);
      return;
    }
    const k = this.keyString(key);
    const bytes = this.valueSerde.serialize(value);
    if (bytes === null) {
      this.delete(key);
      return;
    }
    const old = this.listeners.length === 0 ? undefined : this.map.get(k);
    this.map.set(k, bytes);
    if (this.listeners.length > 0) {
      this.emit({
        store: this.name,
        key,
        newValue: this.valueSerde.deserialize(bytes),
        oldValue: old === undefined ? null : this.valueSerde.deserialize(old),
      });
    }
  }

  delete(key: K): V | undefined {
    const k = this.keyString(key);
    const old = this.map.get(k);
    if (old === undefined) return undefined;
    this.map.delete(k);
    const oldValue = this.valueSerde.deserialize(old);
    if (this.listeners.length > 0) {
      this.emit({ store: this.name, key, newValue: null, oldValue });
    }
    return oldValue;
  }

  *all(): IterableIterator<[K, V]> {
    const keys = [...this.map.keys()].sort();
    for (const k of keys) {
      const v = this.map.get(k);
      if (v === undefined) continue;
      yield [this.keySerde.deserialize(Buffer.from(k, "latin1")), this.valueSerde.deserialize(v)];
    }
  }

  approximateNumEntries(): number {
    return this.map.size;
  }

  prefetch(_keys: readonly K[]): Promise<void> {
    return Promise.resolve();
  }

  addChangeListener(listener: StoreChangeListener<K, V>): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  close(): void {
    this.open = false;
    this.listeners = [];
  }

  isOpen(): boolean {
    return this.open;
  }

  private emit(change: StoreChange<K, V>): void {
    for (const l of this.listeners) l(change);
  }

  private keyString(key: K): string {
    const bytes = this.keySerde.serialize(key);
    if (bytes === null) {
      throw new TypeError(`store '${this.name}' cannot hold a null key`);
    }
    return bytes.toString("latin1");
  }
}
