import type { RecordHeaders } from "@tributary/log";
import type { CachedChange, PendingChange } from "../record-cache.js";
import { estimateBytes, renewPending } from "../record-cache.js";
import type { CacheSlot, ResidentEntry } from "../window/resident-entries.js";

/** Receives one window's latest change when a window store's record cache flushes. */
export type WindowCacheListener<K, V> = (
  key: K,
  windowStart: number,
  change: CachedChange<V>,
  timestamp: number,
  headers: RecordHeaders,
) => void;

/** One window's change waiting for the next flush. */
interface PendingWindow<K, V> extends PendingChange<K, V>, CacheSlot {
  start: number;
  /** The resident entry whose `cacheSlot` points here (moved to the entry read back when
   * its key is evicted and re-read); null when the put went below. */
  entry: ResidentEntry | null;
}

/** Estimated heap cost of a pending change beyond its key and value (object, array slot). */
const PENDING_OVERHEAD_BYTES = 112;

/**
 * The window store's record cache (the forwarding half of Kafka's CachingWindowStore),
 * with RecordCache's semantics — the latest change per window since the last flush, the
 * old value from the first update, handed to the listener in first-update order at flush
 * or past the budget — but found through the window's resident entry (its `cacheSlot`)
 * instead of a map keyed by (key, window): a windowed count updates a window per record,
 * and building and hashing a string key per update was a fifth of its processing time.
 *
 * A key evicted from the resident entries and read back gets new entries; the resident
 * entries move the slots to them (CacheSlot), so the window's next update still renews
 * its waiting change. Only a put that went below (its key not resident: a delete, or a
 * store read without prefetch) starts a pending change of its own, so such a window may
 * go downstream twice at the next flush, each change's old value the one before:
 * intermediate updates not collapsed, the results the same. Not thread-safe.
 */
export class WindowRecordCache<K, V> {
  private pending: PendingWindow<K, V>[] = [];
  private bytes = 0;
  private flushing = false;

  constructor(
    readonly maxBytes: number,
    private readonly listener: WindowCacheListener<K, V>,
  ) {}

  /** Remembers the window's change; flushes when the budget is passed. */
  put(
    entry: ResidentEntry | null,
    key: K,
    start: number,
    value: V | null,
    oldValue: V | null,
    timestamp: number,
    headers: RecordHeaders,
  ): void {
    const size = PENDING_OVERHEAD_BYTES + estimateBytes(key) + estimateBytes(value);
    const p = entry === null ? null : (entry.cacheSlot as PendingWindow<K, V> | null);
    if (p !== null) {
      this.bytes += renewPending(p, value, timestamp, headers, size);
    } else {
      const q: PendingWindow<K, V> = {
        key,
        start,
        entry,
        newValue: value,
        oldValue,
        timestamp,
        headers,
        size,
      };
      this.pending.push(q);
      if (entry !== null) entry.cacheSlot = q;
      this.bytes += size;
    }
    if (this.bytes > this.maxBytes) this.flush();
  }

  /** Hands every pending change to the listener, in first-update order. */
  flush(): void {
    if (this.pending.length === 0 || this.flushing) return;
    const list = this.clear();
    this.flushing = true;
    try {
      for (const p of list) {
        // a window created and deleted between two flushes never existed downstream
        if (p.newValue === null && p.oldValue === null) continue;
        this.listener(
          p.key,
          p.start,
          { newValue: p.newValue, oldValue: p.oldValue },
          p.timestamp,
          p.headers,
        );
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Forgets every pending change (a close without commit: they are processed again);
   * returns them. */
  clear(): PendingWindow<K, V>[] {
    const list = this.pending;
    // slots first: a put during the listener's forwarding starts a new pending change
    for (const p of list) if (p.entry !== null) p.entry.cacheSlot = null;
    this.pending = [];
    this.bytes = 0;
    return list;
  }
}
