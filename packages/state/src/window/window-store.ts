import { StateStoreError } from "../errors.js";
import type { StoreSerde } from "../key-value-store.js";
import type { ResidentEntry } from "./resident-entries.js";
import type { SegmentedBytesStore } from "./segmented-bytes-store.js";
import {
  openSegmentedBytes,
  type SegmentedBytesOptions,
  SegmentedStore,
  type SegmentedStoreExtras,
} from "./segmented-store.js";

export interface WindowStoreOptions<K, V> extends SegmentedBytesOptions {
  keySerde: StoreSerde<K>;
  valueSerde: StoreSerde<V | null>;
  /** Keep every put, even with the same key and start (stream-stream join buffers). */
  retainDuplicates?: boolean;
}

export interface WindowStoreMetrics {
  puts: number;
  fetches: number;
  /** Puts refused because their window had already expired. */
  expiredPuts: number;
  /** Expiries that dropped segments whole (one engine range each, no tombstones). */
  segmentDrops: number;
  /** Windows that expired before a flush wrote them: never logged nor stored below. */
  expiredUnwritten: number;
}

export interface WindowEntry<K, V> {
  key: K;
  /** Window start (the record time in a join buffer). */
  start: number;
  value: V;
}

const NO_SEQ = Buffer.alloc(4);

/**
 * A window store (Kafka's WindowStore): values by key and window start, over the shared
 * byte layers (cache, change-logging, RocksDB or memory engine) with the segmented key
 * layout of segmented-bytes-store.ts. Change-logged and restored like a key-value store;
 * windows older than the retention (window size + grace) are dropped at commit.
 *
 * Reads are synchronous after `prefetch(keys)` (every live window of those keys).
 */
export class WindowStore<K, V> extends SegmentedStore<K> {
  private seq = 0;
  private readonly counters = { puts: 0, fetches: 0 };

  constructor(
    segments: SegmentedBytesStore,
    keySerde: StoreSerde<K>,
    private readonly valueSerde: StoreSerde<V | null>,
    private readonly retainDuplicates: boolean,
    extras: SegmentedStoreExtras,
  ) {
    super(segments, keySerde, extras);
    segments.setValueEncoder((v) => this.encodeDecoded(v as V));
  }

  private encodeDecoded(value: V): Buffer {
    const bytes = this.valueSerde.serialize(value);
    if (bytes === null) {
      throw new StateStoreError(
        "INVALID_ARGUMENT",
        `store '${this.name}': a value serialized to null (only a delete may be null)`,
      );
    }
    return bytes;
  }

  get metrics(): WindowStoreMetrics {
    return {
      ...this.counters,
      expiredPuts: this.segments.expiredPuts,
      segmentDrops: this.segments.segmentDrops,
      expiredUnwritten: this.segments.expiredUnwritten,
    };
  }

  /**
   * Stores the key's value for the window starting at `windowStart` (null deletes; with
   * duplicates retained, every put adds). Returns false if the window has expired.
   */
  put(key: K, windowStart: number, value: V | null): boolean {
    return this.upsert(key, windowStart, value) !== false;
  }

  /**
   * `put` that tells where the value went (SegmentedBytesStore.upsert): the resident
   * entry holding it, true when written below, false when the window has expired.
   */
  upsert(key: K, windowStart: number, value: V | null): ResidentEntry | boolean {
    this.counters.puts++;
    const k = this.keyRef(key);
    if (this.retainDuplicates) {
      if (value === null) return true;
      const tail = Buffer.allocUnsafe(4);
      this.seq = (this.seq + 1) >>> 0;
      tail.writeUInt32BE(this.seq);
      // kept decoded for fetches when it cannot change: a primitive, or an object its
      // owner froze (a join buffer's record, written once and read by every partner)
      const decoded = typeof value !== "object" || Object.isFrozen(value) ? value : undefined;
      const bytes = this.valueSerde.serialize(value);
      return this.segments.upsert(k.bytes, windowStart, tail, bytes, decoded, k.str);
    }
    // an immutable value is kept decoded, its bytes encoded at the flush: a window updated
    // many times between two commits is serialized once
    if (value !== null && typeof value !== "object") {
      return this.segments.upsertDecoded(k.bytes, windowStart, NO_SEQ, value, k.str);
    }
    const bytes = this.valueSerde.serialize(value);
    return this.segments.upsert(k.bytes, windowStart, NO_SEQ, bytes, undefined, k.str);
  }

  /** The value of one window of a prefetched key, or null. */
  fetch(key: K, windowStart: number): V | null {
    this.counters.fetches++;
    const k = this.keyRef(key);
    const e = this.segments.fetchAt(k.bytes, windowStart, k.str, k);
    if (e === undefined) return null;
    if (e.decoded !== undefined) return e.decoded as V;
    const v = this.valueSerde.deserialize(e.value) as V;
    if (typeof v !== "object") e.decoded = v;
    return v;
  }

  /** Windows of a prefetched key with `from <= start <= to`, by start (then put order). */
  fetchRange(key: K, from: number, to: number): WindowEntry<K, V>[] {
    this.counters.fetches++;
    const k = this.keyRef(key);
    return this.segments.fetch(k.bytes, from, to, k.str).map((e) => ({
      key,
      start: e.time,
      value: (e.decoded as V | undefined) ?? this.decodeOnce(e),
    }));
  }

  /** The entry's value decoded, memoized on it when immutable (a primitive). */
  private decodeOnce(e: ResidentEntry): V {
    const v = this.valueSerde.deserialize(e.value) as V;
    if (typeof v !== "object") e.decoded = v;
    return v;
  }

  /** `all`, synchronously: only on the memory engine (the test driver reads it back). */
  allSync(from = 0, to = Number.MAX_SAFE_INTEGER): WindowEntry<K, V>[] {
    return this.segments.allSync(from, to).map((e) => ({
      key: this.keySerde.deserialize(e.key),
      start: e.time,
      value: this.valueSerde.deserialize(e.value) as V,
    }));
  }

  /** Every live window with `from <= start <= to` (all keys; async scan). */
  async *all(from = 0, to = Number.MAX_SAFE_INTEGER): AsyncGenerator<WindowEntry<K, V>> {
    for await (const e of this.segments.all(from, to)) {
      yield {
        key: this.keySerde.deserialize(e.key),
        start: e.time,
        value: this.valueSerde.deserialize(e.value) as V,
      };
    }
  }
}

/** Opens a window store over the layers openSegmentedBytes builds and restores. */
export async function openWindowStore<K, V>(
  options: WindowStoreOptions<K, V>,
): Promise<WindowStore<K, V>> {
  const { keySerde, valueSerde, retainDuplicates, ...rest } = options;
  const { segments, extras } = await openSegmentedBytes(rest);
  return new WindowStore<K, V>(segments, keySerde, valueSerde, retainDuplicates ?? false, extras);
}
