import { StreamsArgumentError } from "../errors.js";
import type { Serde } from "../serdes.js";
import type {
  ProcessorKeyValueStore,
  ProcessorSessionStore,
  ProcessorWindowStore,
} from "./processor-stores.js";
import {
  type KeyValueStoreSupplier,
  type SessionStoreSupplier,
  StoreBuilder,
  type WindowStoreSupplier,
} from "./store-builder.js";

/**
 * Factories for the stores of custom processors (Kafka's `Stores`): pick a store, then
 * give it serdes with a `…StoreBuilder`, then add it with `builder.addStateStore`:
 *
 *   b.addStateStore(
 *     Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("totals"), str, num)
 *       .withCachingEnabled().withLoggingEnabled());
 */
export const Stores = {
  /** RocksDB; reads by the keys of the records at the task (see ProcessorKeyValueStore). */
  persistentKeyValueStore(name: string): KeyValueStoreSupplier {
    return { name, type: "key-value", inMemory: false };
  },

  /** Whole in memory and change-logged: any key readable, `all()` scans (punctuators). */
  inMemoryKeyValueStore(name: string): KeyValueStoreSupplier {
    return { name, type: "key-value", inMemory: true };
  },

  /**
   * RocksDB, segmented by time: windows whose start lies more than `retentionMs` behind
   * stream time expire. `windowSizeMs` is checked against the retention, as Kafka does;
   * with `retainDuplicates` every put of the same key and start is kept (join buffers).
   */
  persistentWindowStore(
    name: string,
    retentionMs: number,
    windowSizeMs: number,
    retainDuplicates = false,
  ): WindowStoreSupplier {
    positive(name, "windowSizeMs", windowSizeMs);
    positive(name, "retentionMs", retentionMs);
    if (retentionMs < windowSizeMs) {
      throw new StreamsArgumentError(
        `window store '${name}': retentionMs (${retentionMs}) must be at least windowSizeMs (${windowSizeMs}), or windows expire before they end`,
      );
    }
    return { name, type: "window", inMemory: false, retentionMs, retainDuplicates };
  },

  /** RocksDB, segmented by time: sessions ending more than `retentionMs` behind stream
   * time expire. */
  persistentSessionStore(name: string, retentionMs: number): SessionStoreSupplier {
    positive(name, "retentionMs", retentionMs);
    return { name, type: "session", inMemory: false, retentionMs };
  },

  keyValueStoreBuilder<K, V>(
    supplier: KeyValueStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): StoreBuilder<ProcessorKeyValueStore<K, V>> {
    return new StoreBuilder(
      kind(supplier, "key-value", "keyValueStoreBuilder"),
      keySerde as Serde<unknown>,
      valueSerde as Serde<unknown>,
    );
  },

  windowStoreBuilder<K, V>(
    supplier: WindowStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): StoreBuilder<ProcessorWindowStore<K, V>> {
    return new StoreBuilder(
      kind(supplier, "window", "windowStoreBuilder"),
      keySerde as Serde<unknown>,
      valueSerde as Serde<unknown>,
    );
  },

  sessionStoreBuilder<K, V>(
    supplier: SessionStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): StoreBuilder<ProcessorSessionStore<K, V>> {
    return new StoreBuilder(
      kind(supplier, "session", "sessionStoreBuilder"),
      keySerde as Serde<unknown>,
      valueSerde as Serde<unknown>,
    );
  },
};

function positive(store: string, what: string, ms: number): void {
  if (!(Number.isSafeInteger(ms) && ms > 0)) {
    throw new StreamsArgumentError(
      `store '${store}': ${what} must be a whole number of ms > 0, got ${ms}`,
    );
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the supplier's store type is re-typed by the builder
function kind(supplier: { name: string; type: string }, type: string, builder: string): any {
  if (supplier.type !== type) {
    throw new StreamsArgumentError(
      `Stores.${builder} takes a ${type} store supplier, got the ${supplier.type} store '${supplier.name}'`,
    );
  }
  return supplier;
}
