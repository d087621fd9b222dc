import { StreamsArgumentError } from "../errors.js";
import type {
  ProcessorKeyValueStore,
  ProcessorSessionStore,
  ProcessorStateStore,
  ProcessorWindowStore,
} from "@tributary/state";
import type { Serde } from "../serdes.js";
import type { StoreType } from "../topology/node-spec.js";
import {
  type KeyValueStoreSupplier,
  type SessionStoreSupplier,
  StoreBuilder,
  type StoreSupplier,
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
    return builder(supplier, "key-value", "keyValueStoreBuilder", keySerde, valueSerde);
  },

  windowStoreBuilder<K, V>(
    supplier: WindowStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): StoreBuilder<ProcessorWindowStore<K, V>> {
    return builder(supplier, "window", "windowStoreBuilder", keySerde, valueSerde);
  },

  sessionStoreBuilder<K, V>(
    supplier: SessionStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): StoreBuilder<ProcessorSessionStore<K, V>> {
    return builder(supplier, "session", "sessionStoreBuilder", keySerde, valueSerde);
  },
};

/** A builder over `supplier`, checked to be of the kind the factory builds. */
function builder<S extends ProcessorStateStore>(
  supplier: StoreSupplier<ProcessorStateStore>,
  type: StoreType,
  factory: string,
  keySerde: Serde<unknown>,
  valueSerde: Serde<unknown>,
): StoreBuilder<S> {
  if (supplier.type !== type) {
    throw new StreamsArgumentError(
      `Stores.${factory} takes a ${type} store supplier, got the ${supplier.type} store '${supplier.name}'`,
    );
  }
  return new StoreBuilder(supplier as StoreSupplier<S>, keySerde, valueSerde);
}

function positive(store: string, what: string, ms: number): void {
  if (!(Number.isSafeInteger(ms) && ms > 0)) {
    throw new StreamsArgumentError(
      `store '${store}': ${what} must be a whole number of ms > 0, got ${ms}`,
    );
  }
}
