import { CachingStore } from "./caching-store.js";
import { type ChangelogTarget, ChangeLoggingStore } from "./change-logging-store.js";
import type { RestoreResult } from "./changelog-restorer.js";
import type { KeyValueBytesStore, KeyValueEngine } from "./key-value-bytes-store.js";
import { KeyValueStore, type StoreSerde } from "./key-value-store.js";

/** Write-back cache bytes when none are given: Kafka's default statestore.cache.max.bytes. */
export const DEFAULT_CACHE_BYTES = 10 * 1024 * 1024;

interface Layers {
  /** Write-back cache bytes; 0: no caching layer. */
  cacheBytes: number;
  /** Where changes go at commit; null: a local-only store. */
  changelog: ChangelogTarget | null;
  commitThresholdBytes: number | undefined;
}

/**
 * The layers of every store over its (opened and restored) engine, in Kafka's order and
 * written down once (Kafka's KeyValueStoreBuilder):
 *
 *   metered(caching(change-logging(engine)))
 *
 *   new KeyValueStoreBuilder(engine, keySerde, valueSerde)
 *     .withCachingEnabled(bytes).withLoggingEnabled(changelog).build()
 *
 * The metered layer is the typed KeyValueStore (serdes, metrics); window and session
 * stores take `buildBytes()` instead and put the segmented layout and their own typed
 * layer (WindowStore, SessionStore) on top. openKeyValueStore/openWindowStore/
 * openSessionStore (a worker's RocksDB stores) and memoryKeyValueStore/… (the test
 * driver's) all build through here, so a store has the same layers in a test as in
 * production. Caching is on by default (DEFAULT_CACHE_BYTES), logging off; each `with…`
 * returns a new builder.
 */
export class KeyValueStoreBuilder<K, V> {
  constructor(
    private readonly engine: KeyValueEngine,
    private readonly keySerde: StoreSerde<K>,
    private readonly valueSerde: StoreSerde<V | null>,
    private readonly layers: Layers = {
      cacheBytes: DEFAULT_CACHE_BYTES,
      changelog: null,
      commitThresholdBytes: undefined,
    },
  ) {}

  /** A write-back cache of `bytes` (default DEFAULT_CACHE_BYTES); 0 turns it off. */
  withCachingEnabled(bytes = DEFAULT_CACHE_BYTES): KeyValueStoreBuilder<K, V> {
    return this.with({ cacheBytes: bytes });
  }

  withCachingDisabled(): KeyValueStoreBuilder<K, V> {
    return this.with({ cacheBytes: 0 });
  }

  /** Every change goes to `changelog` at commit (null: local only). */
  withLoggingEnabled(changelog: ChangelogTarget | null): KeyValueStoreBuilder<K, V> {
    return this.with({ changelog });
  }

  withLoggingDisabled(): KeyValueStoreBuilder<K, V> {
    return this.with({ changelog: null });
  }

  /** Pending bytes at which `commitNeeded()` turns true (default: ChangeLoggingStore's). */
  withCommitThresholdBytes(bytes: number | undefined): KeyValueStoreBuilder<K, V> {
    return this.with({ commitThresholdBytes: bytes });
  }

  /** caching(change-logging(engine)): the byte layers alone. */
  buildBytes(): KeyValueBytesStore {
    const { cacheBytes, changelog, commitThresholdBytes } = this.layers;
    const logged = new ChangeLoggingStore(this.engine, changelog, commitThresholdBytes);
    return cacheBytes > 0 ? new CachingStore(logged, cacheBytes) : logged;
  }

  /** metered(caching(change-logging(engine))). */
  build(
    extras: { restored?: RestoreResult | null; onClose?: (() => Promise<void>) | undefined } = {},
  ): KeyValueStore<K, V> {
    return new KeyValueStore(this.buildBytes(), this.keySerde, this.valueSerde, extras);
  }

  private with(change: Partial<Layers>): KeyValueStoreBuilder<K, V> {
    const layers = { ...this.layers, ...change };
    return new KeyValueStoreBuilder(this.engine, this.keySerde, this.valueSerde, layers);
  }
}
