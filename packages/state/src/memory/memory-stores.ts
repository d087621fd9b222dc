import type { ChangelogTarget } from "../change-logging-store.js";
import type { KeyValueChange } from "../key-value-bytes-store.js";
import type { KeyValueStore, StoreSerde } from "../key-value-store.js";
import { KeyValueStoreBuilder } from "../key-value-store-builder.js";
import { SessionStore } from "../session/session-store.js";
import { validateStateName } from "../store-names.js";
import { SegmentedBytesStore } from "../window/segmented-bytes-store.js";
import { WindowStore } from "../window/window-store.js";
import { MemoryEngine } from "./memory-engine.js";

export interface MemoryStoreOptions<K, V> {
  name: string;
  keySerde: StoreSerde<K>;
  valueSerde: StoreSerde<V | null>;
  /** Write-back cache bytes; 0 turns it off. Default 10 MiB, as openKeyValueStore. */
  cacheBytes?: number;
  /** Where the store logs its changes at commit; null: not logged. */
  changelog: ChangelogTarget | null;
  /**
   * The changelog partition's records to restore from, in offset order, with the offset
   * after the last (a restart: the store starts where that changelog stands).
   */
  restore?: { records: readonly KeyValueChange[]; nextOffset: number };
}

export interface MemoryTimeStoreOptions<K, V> extends MemoryStoreOptions<K, V> {
  /** Window size plus grace (see SegmentedBytesStore). */
  retentionMs: number;
}

/**
 * The stores of openKeyValueStore / openWindowStore / openSessionStore on the memory
 * engine, built and restored synchronously from changelog records already at hand: the
 * same layers (cache, change-logging with the same changelog format, segmented layout),
 * so a topology's test (the streams test driver) runs on what production runs.
 */
export function memoryKeyValueStore<K, V>(options: MemoryStoreOptions<K, V>): KeyValueStore<K, V> {
  return memoryLayers(options).build();
}

export function memoryWindowStore<K, V>(
  options: MemoryTimeStoreOptions<K, V> & { retainDuplicates?: boolean },
): WindowStore<K, V> {
  const { segments, extras } = memorySegments(options);
  return new WindowStore<K, V>(
    segments,
    options.keySerde,
    options.valueSerde,
    options.retainDuplicates ?? false,
    extras,
  );
}

export function memorySessionStore<K, V>(
  options: MemoryTimeStoreOptions<K, V>,
): SessionStore<K, V> {
  const { segments, extras } = memorySegments(options);
  return new SessionStore<K, V>(segments, options.keySerde, options.valueSerde, extras);
}

/** A memory engine restored from `options.restore`, under the layers every store has. */
function memoryLayers<K, V>(options: MemoryStoreOptions<K, V>): KeyValueStoreBuilder<K, V> {
  validateStateName("store name", options.name);
  const engine = new MemoryEngine(options.name);
  if (options.restore !== undefined && options.restore.records.length > 0) {
    engine.writeSync(options.restore.records, options.restore.nextOffset);
  }
  return new KeyValueStoreBuilder(engine, options.keySerde, options.valueSerde)
    .withCachingEnabled(options.cacheBytes)
    .withLoggingEnabled(options.changelog);
}

function memorySegments<K, V>(options: MemoryTimeStoreOptions<K, V>) {
  const bytes = memoryLayers(options).buildBytes();
  const segments = new SegmentedBytesStore(bytes, { retentionMs: options.retentionMs });
  segments.initSync();
  return { segments, extras: { restored: null, close: () => segments.close() } };
}
