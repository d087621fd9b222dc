import {
  inRange,
  type KeyRange,
  type KeyValueBytesStore,
  type KeyValueChange,
  type KeyValueEntry,
  keyString,
} from "./key-value-bytes-store.js";
import { StateStoreError } from "./errors.js";
import { mergeRange, mergeRangeSync, sortedOverlay } from "./merged-range.js";

export interface CacheEntry {
  key: Buffer;
  /**
   * null: the key is deleted (dirty) or absent below (clean), both worth remembering.
   * undefined: a dirty entry written by the typed layer as `decoded` only, encoded when
   * something needs its bytes (a flush, a bytes-level read, a range).
   */
  value: Buffer | null | undefined;
  dirty: boolean;
  /** Read or written since the eviction scan last passed it (CLOCK's reference bit). */
  used: boolean;
  size: number;
  /**
   * `value` deserialized, kept by the typed layer for immutable (primitive) values so a
   * read-modify-write of a hot key decodes it once; NOT_DECODED until then.
   */
  decoded: unknown;
}

/** `CacheEntry.decoded` when the typed layer has not memoized the value. */
export const NOT_DECODED: unique symbol = Symbol("not decoded");

/** Estimated heap cost of one entry beyond its key and value bytes (objects, Map slot). */
const ENTRY_OVERHEAD_BYTES = 160;

export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
  flushes: number;
  bytes: number;
  entries: number;
}

/**
 * The write-back cache, bounded by bytes (Kafka's CachingKeyValueStore / ThreadCache).
 *
 * Puts stay here, dirty, until a flush pushes every dirty entry one layer down. A flush
 * happens on commit, and when the cache is full and the entry to evict is dirty (as
 * Kafka: flushing all dirty entries at once keeps their changelog appends together).
 * Eviction is approximately LRU (CLOCK, second chance): a hit only sets the entry's
 * `used` bit instead of moving it in the Map, which halves the Map work of a hot key's
 * read-modify-write; the scan moves used entries to the back and evicts the first unused
 * one. Misses read through the layer below and are cached, absent keys included, so a
 * batch's repeated reads of the same key cost one lookup.
 *
 * `prefetch` asks the layer below only for the keys not cached. An entry evicted while
 * the batch runs moves to a victim map that serves reads until the next prefetch, so a
 * key that was cached when the batch was prefetched stays readable.
 */
export class CachingStore implements KeyValueBytesStore {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly dirty = new Map<string, CacheEntry>();
  /** Clean entries evicted since the last prefetch: their values, still readable. */
  private victims = new Map<string, Buffer | null>();
  /** Victims are kept only for a store that is prefetched: that bounds them by one batch. */
  private prefetching = false;
  private bytes = 0;
  /**
   * A live iterator over `entries` in insertion (= LRU) order. Restarting `keys()` at each
   * eviction would rescan the deleted slots at the front of the Map, quadratic in a full
   * cache; a live iterator skips each deleted slot once and sees re-inserted keys again.
   */
  private lru: IterableIterator<string> = this.entries.keys();
  private readonly stats = { hits: 0, misses: 0, evictions: 0, flushes: 0 };
  /** The typed layer's value serializer, for entries put as decoded values only. */
  private encoder: ((value: unknown) => Buffer | null) | null = null;
  /** The last key buffer's map key: a read-then-write of one key converts it once. */
  private lastKey: Buffer | null = null;
  private lastKeyStr = "";

  constructor(
    private readonly inner: KeyValueBytesStore,
    readonly maxBytes: number,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get changelogOffset(): number | null {
    return this.inner.changelogOffset;
  }

  get(key: Buffer): Buffer | null {
    return this.bytesOf(this.entry(key));
  }

  /** The entry's value bytes, encoding a value put decoded only. */
  bytesOf(e: CacheEntry): Buffer | null {
    if (e.value !== undefined) return e.value;
    const v = (this.encoder as (value: unknown) => Buffer | null)(e.decoded);
    e.value = v;
    const size = entrySize(e.key, v);
    this.bytes += size - e.size;
    e.size = size;
    return v;
  }

  /**
   * A put of an immutable typed value whose encoding waits until its bytes are needed: a
   * hot key updated many times between flushes is encoded once. `encoder` must be the
   * same for every call on this cache (the store's value serde); the size counted until
   * then is the entry's previous one.
   */
  putDecoded(
    key: Buffer,
    keyStr: string,
    decoded: unknown,
    encoder: (value: unknown) => Buffer | null,
  ): void {
    this.encoder = encoder;
    const e = this.entries.get(keyStr);
    if (e !== undefined) {
      e.value = undefined;
      e.decoded = decoded;
      e.used = true;
      if (!e.dirty) {
        e.dirty = true;
        this.dirty.set(keyStr, e);
      }
      return;
    }
    this.put(key, encoder(decoded), keyStr, decoded);
  }

  /**
   * The key's entry, read through on a miss: the typed layer reads and memoizes its
   * decoded value. The entry stays valid until the next put or eviction of the key.
   */
  entry(key: Buffer, keyStr?: string): CacheEntry {
    const s = keyStr ?? this.mapKey(key);
    const e = this.entries.get(s);
    if (e !== undefined) {
      this.stats.hits++;
      e.used = true;
      return e;
    }
    this.stats.misses++;
    const victim = this.victims.get(s);
    const value = victim !== undefined ? victim : this.inner.get(key);
    const entry: CacheEntry = {
      key,
      value,
      dirty: false,
      used: false,
      size: entrySize(key, value),
      decoded: NOT_DECODED,
    };
    this.insert(s, entry);
    return entry;
  }

  put(key: Buffer, value: Buffer | null, keyStr?: string, decoded: unknown = NOT_DECODED): void {
    const s = keyStr ?? this.mapKey(key);
    const e = this.entries.get(s);
    if (e !== undefined) {
      const size = entrySize(key, value);
      this.bytes += size - e.size;
      e.value = value;
      e.size = size;
      e.used = true;
      e.decoded = decoded;
      if (!e.dirty) {
        e.dirty = true;
        this.dirty.set(s, e);
      }
      if (this.bytes > this.maxBytes) this.evict();
      return;
    }
    const entry: CacheEntry = {
      key,
      value,
      dirty: true,
      used: false,
      size: entrySize(key, value),
      decoded,
    };
    this.dirty.set(s, entry);
    this.insert(s, entry);
  }

  async prefetch(keys: readonly Buffer[], known: readonly KeyValueChange[] = []): Promise<void> {
    // a new batch: what it reads is cached or fetched now
    this.prefetching = true;
    if (this.victims.size > 0) this.victims = new Map();
    const missing: Buffer[] = [];
    // A batch repeats its hot keys: each goes down once.
    let seen: Set<string> | null = null;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const s = keyString(key);
      const e = this.entries.get(s);
      if (e !== undefined) {
        e.used = true;
        continue;
      }
      seen ??= new Set();
      if (seen.has(s)) continue;
      seen.add(s);
      missing.push(key);
    }
    await this.inner.prefetch(missing, known);
  }

  /** The cached entry (dirty or read through: current either way), else the layer below. */
  lookup(key: Buffer): Promise<Buffer | null> {
    const s = this.mapKey(key);
    const e = this.entries.get(s);
    if (e !== undefined) return Promise.resolve(this.bytesOf(e));
    const victim = this.victims.get(s);
    if (victim !== undefined) return Promise.resolve(victim);
    return this.inner.lookup(key);
  }

  range(range?: KeyRange): AsyncIterable<KeyValueEntry> {
    return mergeRange(this.inner.range(range), this.overlay(range));
  }

  get rangeSync(): ((range?: KeyRange) => Iterable<KeyValueEntry>) | undefined {
    const below = this.inner.rangeSync;
    if (below === undefined) return undefined;
    return (range) => mergeRangeSync(below.call(this.inner, range), this.overlay(range));
  }

  /**
   * The dirty entries within `range`, sorted: what the layer below does not hold yet. A
   * copy of each: a scan is awaited between entries, and a put meanwhile resets the live
   * entry's bytes (putDecoded), which made an interactive query read `undefined`.
   */
  private overlay(range: KeyRange | undefined): KeyValueChange[] {
    const changes: KeyValueChange[] = [];
    for (const e of this.dirty.values()) {
      if (inRange(e.key, range)) changes.push({ key: e.key, value: this.bytesOf(e) });
    }
    return sortedOverlay(changes, () => true);
  }

  async approximateCount(): Promise<number> {
    return (await this.inner.approximateCount()) + this.dirty.size;
  }

  flush(): void {
    if (this.dirty.size > 0) {
      this.stats.flushes++;
      for (const [s, e] of this.dirty) {
        this.inner.put(e.key, this.bytesOf(e), s);
        e.dirty = false;
      }
      this.dirty.clear();
    }
    this.inner.flush();
  }

  /** Writes the dirty entries down, forgets the cached ones in the range, then drops it below. */
  dropRange(range: Required<KeyRange>): void {
    const drop = this.inner.dropRange;
    if (drop === undefined) {
      throw new StateStoreError("INVALID_ARGUMENT", `store '${this.name}' cannot drop a range`);
    }
    this.flush();
    // latin1 map keys compare as their bytes do
    const from = keyString(range.from);
    const to = keyString(range.to);
    for (const [s, e] of this.entries) {
      if (s < from || s >= to) continue;
      this.entries.delete(s);
      this.bytes -= e.size;
    }
    for (const s of this.victims.keys()) if (s >= from && s < to) this.victims.delete(s);
    drop.call(this.inner, range);
  }

  async commit(): Promise<void> {
    this.flush();
    await this.inner.commit();
  }

  commitNeeded(): boolean {
    return this.inner.commitNeeded();
  }

  cacheStats(): CacheStats {
    return { ...this.stats, bytes: this.bytes, entries: this.entries.size };
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.victims = new Map();
    this.lru = this.entries.keys();
    this.dirty.clear();
    this.bytes = 0;
    await this.inner.close();
  }

  private mapKey(key: Buffer): string {
    if (key === this.lastKey) return this.lastKeyStr;
    const s = keyString(key);
    this.lastKey = key;
    this.lastKeyStr = s;
    return s;
  }

  private insert(s: string, entry: CacheEntry): void {
    this.entries.set(s, entry);
    this.bytes += entry.size;
    this.evict();
  }

  private evict(): void {
    while (this.bytes > this.maxBytes && this.entries.size > 0) {
      let next = this.lru.next();
      if (next.done) {
        this.lru = this.entries.keys();
        next = this.lru.next();
      }
      const first = next.value as string;
      const e = this.entries.get(first) as CacheEntry;
      if (e.used && this.entries.size > 1) {
        // second chance: to the back, unmarked
        e.used = false;
        this.entries.delete(first);
        this.entries.set(first, e);
        continue;
      }
      if (e.dirty) this.flush();
      this.entries.delete(first);
      // a store never prefetched reads through at will (memory engine): no victims
      if (this.prefetching) this.victims.set(first, e.value as Buffer | null);
      this.bytes -= e.size;
      this.stats.evictions++;
    }
  }
}

function entrySize(key: Buffer, value: Buffer | null): number {
  return key.length + (value === null ? 0 : value.length) + ENTRY_OVERHEAD_BYTES;
}
