import {
  inRange,
  type KeyRange,
  type KeyValueBytesStore,
  type KeyValueChange,
  type KeyValueEntry,
  keyString,
} from "./key-value-bytes-store.js";
import { mergeRange, sortedOverlay } from "./merged-range.js";

interface CacheEntry {
  key: Buffer;
  /** null: the key is deleted (dirty) or absent below (clean), both worth remembering. */
  value: Buffer | null;
  dirty: boolean;
  size: number;
}

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
 * happens on commit, and when the cache is full and the least recently used entry is
 * dirty (as Kafka: flushing all dirty entries at once keeps their changelog appends
 * together). Clean entries are evicted in LRU order. Misses read through the layer below
 * and are cached, absent keys included, so a batch's repeated reads of the same key cost
 * one lookup.
 *
 * `prefetch` asks the layer below only for the keys not cached, and hands it the cached
 * ones as known values, so an entry evicted while the batch runs is still readable.
 */
export class CachingStore implements KeyValueBytesStore {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly dirty = new Map<string, CacheEntry>();
  private bytes = 0;
  /**
   * A live iterator over `entries` in insertion (= LRU) order. Restarting `keys()` at each
   * eviction would rescan the deleted slots at the front of the Map, quadratic in a full
   * cache; a live iterator skips each deleted slot once and sees re-inserted keys again.
   */
  private lru: IterableIterator<string> = this.entries.keys();
  private readonly stats = { hits: 0, misses: 0, evictions: 0, flushes: 0 };
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
    const s = this.mapKey(key);
    const e = this.entries.get(s);
    if (e !== undefined) {
      this.stats.hits++;
      this.entries.delete(s);
      this.entries.set(s, e);
      return e.value;
    }
    this.stats.misses++;
    const value = this.inner.get(key);
    this.insert(s, { key, value, dirty: false, size: entrySize(key, value) });
    return value;
  }

  put(key: Buffer, value: Buffer | null, keyStr?: string): void {
    const s = keyStr ?? this.mapKey(key);
    const e = this.entries.get(s);
    if (e !== undefined) {
      this.entries.delete(s);
      const size = entrySize(key, value);
      this.bytes += size - e.size;
      e.value = value;
      e.size = size;
      e.dirty = true;
      this.entries.set(s, e);
      this.dirty.set(s, e);
      this.evict();
      return;
    }
    const entry = { key, value, dirty: true, size: entrySize(key, value) };
    this.dirty.set(s, entry);
    this.insert(s, entry);
  }

  async prefetch(keys: readonly Buffer[], known: readonly KeyValueChange[] = []): Promise<void> {
    const missing: Buffer[] = [];
    const cached: KeyValueChange[] = known.slice();
    // A batch repeats its hot keys: each goes down once.
    const seen = new Set<string>();
    for (const key of keys) {
      const s = keyString(key);
      if (seen.has(s)) continue;
      seen.add(s);
      const e = this.entries.get(s);
      if (e === undefined) missing.push(key);
      else cached.push({ key: e.key, value: e.value });
    }
    await this.inner.prefetch(missing, cached);
  }

  range(range?: KeyRange): AsyncIterable<KeyValueEntry> {
    const overlay = sortedOverlay(this.dirty.values(), (k) => inRange(k, range));
    return mergeRange(this.inner.range(range), overlay);
  }

  async approximateCount(): Promise<number> {
    return (await this.inner.approximateCount()) + this.dirty.size;
  }

  flush(): void {
    if (this.dirty.size > 0) {
      this.stats.flushes++;
      for (const [s, e] of this.dirty) {
        this.inner.put(e.key, e.value, s);
        e.dirty = false;
      }
      this.dirty.clear();
    }
    this.inner.flush();
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
      if (e.dirty) this.flush();
      this.entries.delete(first);
      this.bytes -= e.size;
      this.stats.evictions++;
    }
  }
}

function entrySize(key: Buffer, value: Buffer | null): number {
  return key.length + (value === null ? 0 : value.length) + ENTRY_OVERHEAD_BYTES;
}
