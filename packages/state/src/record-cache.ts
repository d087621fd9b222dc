import type { RecordHeaders } from "@tributary/log";

/** The change a record cache hands on at flush: the key's value now, and as of the
 * previous flush (what downstream saw last). */
export interface CachedChange<V> {
  newValue: V | null;
  oldValue: V | null;
}

/** Receives each key's latest change when the record cache flushes. */
export type RecordCacheListener<K, V> = (
  key: K,
  change: CachedChange<V>,
  timestamp: number,
  headers: RecordHeaders,
) => void;

/** One key's change waiting for the next flush. */
export interface PendingChange<K, V> {
  key: K;
  newValue: V | null;
  oldValue: V | null;
  timestamp: number;
  headers: RecordHeaders;
  size: number;
}

/** A later update of a pending change: the newest value wins, the old value stays the one
 * downstream saw last. Returns how many estimated bytes it grew by. */
export function renewPending<K, V>(
  p: PendingChange<K, V>,
  value: V | null,
  timestamp: number,
  headers: RecordHeaders,
  size: number,
): number {
  const grown = size - p.size;
  p.newValue = value;
  p.timestamp = timestamp;
  p.headers = headers;
  p.size = size;
  return grown;
}

/** Estimated heap cost of a pending change beyond its key and value (objects, Map slot). */
const PENDING_OVERHEAD_BYTES = 120;

/**
 * The record cache (Kafka's statestore.cache.max.bytes, the ThreadCache's forwarding
 * half): an aggregation's store keeps the latest change per key since the last flush and
 * hands them to a listener at flush — commit step 1, before outputs and changelogs are
 * flushed — or when they pass the budget (estimated heap bytes). So a key updated a
 * thousand times between two commits goes downstream once, with the value downstream saw
 * last as its old value. It holds typed keys and values (it sits above the serdes, beside
 * the metered layer); the write-back cache below (CachingStore) holds bytes and decides
 * what reaches the changelog and the engine. Not thread-safe.
 */
export class RecordCache<K, V> {
  /** map key (the key itself, or a string for object keys) -> pending change */
  private readonly pending = new Map<unknown, PendingChange<K, V>>();
  private bytes = 0;
  private flushing = false;

  /** `idOf`: the map key of a key (default: the key itself, or a string for objects). */
  constructor(
    readonly maxBytes: number,
    private readonly listener: RecordCacheListener<K, V>,
    private readonly idOf: (key: K) => unknown = mapKey,
  ) {}

  /** Remembers the change (old value from the first update since the last flush); flushes
   * when the budget is passed. */
  put(key: K, value: V | null, oldValue: V | null, timestamp: number, headers: RecordHeaders) {
    const id = this.idOf(key);
    const size = PENDING_OVERHEAD_BYTES + estimateBytes(key) + estimateBytes(value);
    const p = this.pending.get(id);
    if (p !== undefined) {
      this.bytes += renewPending(p, value, timestamp, headers, size);
    } else {
      this.pending.set(id, { key, newValue: value, oldValue, timestamp, headers, size });
      this.bytes += size;
    }
    if (this.bytes > this.maxBytes) this.flush();
  }

  /** Keys whose change awaits the next flush; null when none. */
  pendingKeys(): IterableIterator<K> | null {
    if (this.pending.size === 0) return null;
    return keysOf(this.pending.values());
  }

  /** Hands every pending change to the listener, in first-update order. */
  flush(): void {
    if (this.pending.size === 0 || this.flushing) return;
    this.flushing = true;
    try {
      for (const p of this.pending.values()) {
        // a key created and deleted between two flushes never existed downstream
        if (p.newValue === null && p.oldValue === null) continue;
        this.listener(
          p.key,
          { newValue: p.newValue, oldValue: p.oldValue },
          p.timestamp,
          p.headers,
        );
      }
    } finally {
      this.clear();
      this.flushing = false;
    }
  }

  /** Forgets every pending change (a close without commit: they are processed again). */
  clear(): void {
    this.pending.clear();
    this.bytes = 0;
  }
}

function mapKey(key: unknown): unknown {
  if (typeof key !== "object" || key === null) return key;
  if (Buffer.isBuffer(key)) return `b:${key.toString("latin1")}`;
  return `j:${JSON.stringify(key)}`;
}

function* keysOf<K, V>(pending: IterableIterator<PendingChange<K, V>>): IterableIterator<K> {
  for (const p of pending) yield p.key;
}

/** A rough heap size: the budget bounds memory, it is not an exact count. */
export function estimateBytes(x: unknown): number {
  switch (typeof x) {
    case "string":
      return 16 + 2 * x.length;
    case "object":
      if (x === null) return 0;
      if (Buffer.isBuffer(x)) return 64 + x.length;
      return 256;
    default:
      return 8;
  }
}
