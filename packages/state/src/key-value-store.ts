import { ReservedKeyError, StateStoreError } from "./errors.js";
import type { RestoreResult } from "./changelog-restorer.js";
import { CachingStore, NOT_DECODED } from "./caching-store.js";
import {
  isReservedKey,
  type KeyValueBytesStore,
  type KeyValueEntry,
  keyString,
} from "./key-value-bytes-store.js";

/**
 * The shape of a serde, as `Serde<T>` in @tributary/log (structural, so any serde of the
 * log package fits): null serializes to null and back.
 */
export interface StoreSerde<T> {
  serialize(value: T): Buffer | null;
  deserialize(bytes: Buffer | null): T;
}

export interface KeyValueStoreMetrics {
  gets: number;
  puts: number;
  deletes: number;
  prefetchedKeys: number;
  commits: number;
}

/**
 * The typed key-value store a processor uses: the outermost layer, the only one that
 * knows serdes, and the one that counts (Kafka's MeteredKeyValueStore).
 *
 * `get/put/delete` are synchronous. Before running a batch the runtime awaits
 * `prefetch(keys)` with every key the batch reads; on a RocksDB store a read of a key
 * that was neither cached nor prefetched throws KeyNotPrefetchedError. `commit()` does the
 * whole commit for this store (flush cache → changelog append → one engine batch with
 * the changelog offset); the runtime then commits input offsets.
 *
 * Range scans are in the byte order of the serialized keys.
 *
 * Over the write-back cache, an aggregation's read-modify-write of a hot key is cheap: a
 * string key is encoded once (memo), a read returns the value the cache entry already
 * decoded, and an immutable (primitive) value put is encoded when the cache flushes, once
 * per key per flush instead of once per update. This assumes, as restore does, that
 * values round-trip through their serde; a serde that throws on a primitive throws at
 * the flush (commit) rather than at the put.
 */
export class KeyValueStore<K, V> {
  readonly metrics: KeyValueStoreMetrics = {
    gets: 0,
    puts: 0,
    deletes: 0,
    prefetchedKeys: 0,
    commits: 0,
  };

  /**
   * The last key serialized: an aggregation reads and then writes the same key, so the
   * second call reuses the bytes (and the layers below, keyed by buffer identity, their
   * map key). Only primitive keys: an object key could be mutated in between.
   */
  private lastKey: unknown = undefined;
  private lastKeyBytes: Buffer | null = null;
  /** The write-back cache when it is the layer below: reads go through its entries, which
   * memoize decoded primitive values (no deserialize per read of a hot key). */
  private readonly cache: CachingStore | null;
  /** string key -> its bytes and cache map key: a hot key is encoded once, not per read. */
  private stringKeys = new Map<string, { bytes: Buffer; str: string }>();
  private lastStringKey: string | undefined = undefined;
  private lastStringKeyBytes: { bytes: Buffer; str: string } | null = null;

  constructor(
    readonly bytes: KeyValueBytesStore,
    private readonly keySerde: StoreSerde<K>,
    private readonly valueSerde: StoreSerde<V | null>,
    private readonly extras: {
      /** What the restore at open replayed (null: no changelog). */
      restored?: RestoreResult | null;
      onClose?: (() => Promise<void>) | undefined;
    } = {},
  ) {
    this.cache = bytes instanceof CachingStore ? bytes : null;
  }

  /** What the restore at open replayed; null for a store without changelog. */
  get restored(): RestoreResult | null {
    return this.extras.restored ?? null;
  }

  get name(): string {
    return this.bytes.name;
  }

  /** Next changelog offset the local store covers (null: no local state yet). */
  get changelogOffset(): number | null {
    return this.bytes.changelogOffset;
  }

  get(key: K): V | null {
    this.metrics.gets++;
    const cache = this.cache;
    if (cache === null) return this.valueSerde.deserialize(this.bytes.get(this.keyBytes(key)));
    let e: ReturnType<CachingStore["entry"]>;
    if (typeof key === "string") {
      const k = this.stringKey(key);
      e = cache.entry(k.bytes, k.str);
    } else {
      e = cache.entry(this.keyBytes(key));
    }
    if (e.decoded !== NOT_DECODED) return e.decoded as V | null;
    const v = this.valueSerde.deserialize(cache.bytesOf(e));
    if (isImmutable(v)) e.decoded = v;
    return v;
  }

  /** A null value deletes the key. */
  put(key: K, value: V | null): void {
    this.metrics.puts++;
    const cache = this.cache;
    if (cache !== null && typeof key === "string") {
      const k = this.stringKey(key);
      if (value !== null && isImmutable(value))
        cache.putDecoded(k.bytes, k.str, value, this.encode);
      else cache.put(k.bytes, this.valueSerde.serialize(value), k.str);
      return;
    }
    this.bytes.put(this.keyBytes(key), this.valueSerde.serialize(value));
  }

  private readonly encode = (value: unknown): Buffer | null =>
    this.valueSerde.serialize(value as V | null);

  delete(key: K): void {
    this.metrics.deletes++;
    if (this.cache !== null && typeof key === "string") {
      const k = this.stringKey(key);
      this.cache.put(k.bytes, null, k.str);
      return;
    }
    this.bytes.put(this.keyBytes(key), null);
  }

  async prefetch(keys: Iterable<K>): Promise<void> {
    const bytes: Buffer[] = [];
    for (const k of keys) bytes.push(this.keyBytes(k));
    this.metrics.prefetchedKeys += bytes.length;
    await this.bytes.prefetch(bytes);
  }

  /** Entries with `from <= key < to` in serialized-key byte order; absent bound = open. */
  async *range(from?: K, to?: K): AsyncGenerator<[K, V]> {
    const range = {
      ...(from === undefined ? {} : { from: this.keyBytes(from) }),
      ...(to === undefined ? {} : { to: this.keyBytes(to) }),
    };
    for await (const e of this.bytes.range(range)) {
      yield [this.keySerde.deserialize(e.key), this.valueSerde.deserialize(e.value) as V];
    }
  }

  all(): AsyncGenerator<[K, V]> {
    return this.range();
  }

  /** Every entry, synchronously, in key-byte order; undefined on RocksDB (async only). */
  allSync(): IterableIterator<[K, V]> | undefined {
    const scan = this.bytes.rangeSync;
    if (scan === undefined) return undefined;
    return this.decodeAll(scan.call(this.bytes));
  }

  private *decodeAll(entries: Iterable<KeyValueEntry>): IterableIterator<[K, V]> {
    for (const e of entries) {
      yield [this.keySerde.deserialize(e.key), this.valueSerde.deserialize(e.value) as V];
    }
  }

  approximateCount(): Promise<number> {
    return this.bytes.approximateCount();
  }

  flush(): void {
    this.bytes.flush();
  }

  commitNeeded(): boolean {
    return this.bytes.commitNeeded();
  }

  async commit(): Promise<void> {
    this.metrics.commits++;
    await this.bytes.commit();
  }

  async close(): Promise<void> {
    try {
      await this.bytes.close();
    } finally {
      await this.extras.onClose?.();
    }
  }

  private stringKey(key: string): { bytes: Buffer; str: string } {
    // a read-then-write of one key: the second call skips the Map
    if (key === this.lastStringKey) return this.lastStringKeyBytes!;
    let k = this.stringKeys.get(key);
    if (k === undefined) {
      const bytes = this.keyBytes(key as K);
      k = { bytes, str: keyString(bytes) };
      // bounded: a store with more distinct keys than this starts over, it never grows
      if (this.stringKeys.size >= STRING_KEY_MEMO) this.stringKeys = new Map();
      this.stringKeys.set(key, k);
    }
    this.lastStringKey = key;
    this.lastStringKeyBytes = k;
    return k;
  }

  private keyBytes(key: K): Buffer {
    if (key === this.lastKey && this.lastKeyBytes !== null) return this.lastKeyBytes;
    const b = this.keySerde.serialize(key);
    if (b === null || b.length === 0) {
      throw new StateStoreError(
        "INVALID_ARGUMENT",
        `store '${this.name}': a key serialized to ${b === null ? "null" : "zero bytes"}; store keys must be non-empty`,
      );
    }
    if (isReservedKey(b)) throw new ReservedKeyError(this.name, b);
    if (typeof key !== "object" && typeof key !== "function") {
      this.lastKey = key;
      this.lastKeyBytes = b;
    }
    return b;
  }
}

/** Distinct string keys whose encoding a store remembers. */
const STRING_KEY_MEMO = 65_536;

/** Values a caller cannot mutate behind the store's back: safe to hand out twice. */
function isImmutable(v: unknown): boolean {
  return v === null || (typeof v !== "object" && typeof v !== "function");
}
