/**
 * The byte-level contracts every key-value layer shares. The typed store a processor uses
 * wraps them in one expression (see store-builder.ts):
 *
 *   KeyValueStore (types, serdes, counters)
 *     ( CachingStore (write-back cache)
 *       ( ChangeLoggingStore (pending changes → changelog topic)
 *         ( engine: RocksDbEngine | MemoryEngine ) ) )
 *
 * Window and session stores are meant to reuse the same byte layers with their own key
 * layouts, so nothing here knows about keys beyond their bytes.
 *
 * Reads are synchronous because processing a batch is synchronous JavaScript. The
 * runtime calls `prefetch(keys)` with the keys a batch will read before running it; that
 * is the one asynchronous read per batch (RocksDB getMany for the cache misses).
 */

/** One change: a null value deletes the key. */
export interface KeyValueChange {
  key: Buffer;
  value: Buffer | null;
}

/** An entry returned by range scans (deleted keys are never returned). */
export interface KeyValueEntry {
  key: Buffer;
  value: Buffer;
}

/** Bounds of a range scan in byte order: `from` inclusive, `to` exclusive; absent = open. */
export interface KeyRange {
  from?: Buffer;
  to?: Buffer;
}

/**
 * The changes of one changelog chunk, added one at a time as they are read (no change
 * object per record), then written with the offset they reach as ONE atomic write.
 */
export interface RestoreBatch {
  /** Changes added so far. */
  readonly size: number;
  /** A put, or a delete when `value` is null. */
  add(key: Buffer, value: Buffer | null): void;
  /** Applies what was added and records `changelogOffset`, all or nothing. */
  write(changelogOffset: number): Promise<void>;
}

/** What both storage engines (RocksDB, memory) provide. */
export interface KeyValueEngine {
  readonly name: string;
  /** True when the contents survive a restart (restore then replays only the tail). */
  readonly persistent: boolean;
  /**
   * The next changelog offset the contents cover, written atomically with the data;
   * null when the store has never written one (no local state: restore from the start).
   */
  readonly changelogOffset: number | null;
  /**
   * Synchronous read. The memory engine always answers; the RocksDB engine answers for
   * keys given to the last `prefetch` and throws KeyNotPrefetchedError otherwise.
   */
  get(key: Buffer): Buffer | null;
  /**
   * Makes `keys` readable by `get` until the next `prefetch` (one getMany). `known` are
   * entries the layers above already hold (cache hits): kept as they are, not read, so a
   * cache eviction during the batch cannot turn a hit into an unprefetched miss.
   */
  prefetch(keys: readonly Buffer[], known?: readonly KeyValueChange[]): Promise<void>;
  /**
   * One key's value read now, outside the prefetch (which it leaves alone): an
   * interactive query's point read. Absent: read it with `range`.
   */
  lookup?(key: Buffer): Promise<Buffer | null>;
  /**
   * Applies `changes` in order and records `changelogOffset` (when not null) in ONE atomic
   * write: after a crash the engine holds either all of it or none of it.
   */
  write(changes: readonly KeyValueChange[], changelogOffset: number | null): Promise<void>;
  /**
   * A batch for restore that copies each change into the engine's write as it is added
   * (RocksDB: straight into the native WriteBatch). Absent: restore collects the changes
   * and calls `write`. Like `write`, one batch must be written before the next is.
   */
  restoreBatch?(): RestoreBatch;
  /** `write`, done before it returns: a synchronous engine (memory) has it. */
  writeSync?(changes: readonly KeyValueChange[], changelogOffset: number | null): void;
  range(range?: KeyRange): AsyncIterable<KeyValueEntry>;
  /**
   * A synchronous engine (memory) scans synchronously too: the layers above then answer
   * any read at once, prefetched or not (the test driver runs on it). Absent: RocksDB.
   */
  rangeSync?(range?: KeyRange): Iterable<KeyValueEntry>;
  /**
   * Deletes every key in [from, to) from the engine alone, logging nothing: data whose
   * changelog forgets it by time (a window store's expired segments). Not atomic with
   * `write`; a crash in between leaves the keys, which their owner drops again on open.
   */
  dropRange(range: Required<KeyRange>): Promise<void>;
  /** `dropRange`, done before it returns (a synchronous engine: memory). */
  dropRangeSync?(range: Required<KeyRange>): void;
  approximateCount(): Promise<number>;
  close(): Promise<void>;
}

/** What each wrapping layer (cache, change-logging) provides to the one above. */
export interface KeyValueBytesStore {
  readonly name: string;
  get(key: Buffer): Buffer | null;
  /** A null value deletes. `keyStr` is `keyString(key)` when the caller has it already. */
  put(key: Buffer, value: Buffer | null, keyStr?: string): void;
  prefetch(keys: readonly Buffer[], known?: readonly KeyValueChange[]): Promise<void>;
  /** Sorted by key bytes; sees every put so far, committed or not. */
  range(range?: KeyRange): AsyncIterable<KeyValueEntry>;
  /**
   * One key's value as `range` would see it (every put so far), without disturbing the
   * prefetch `get` depends on: an interactive query's point read.
   */
  lookup(key: Buffer): Promise<Buffer | null>;
  /** `range`, synchronously; present when the engine below scans synchronously. */
  rangeSync?(range?: KeyRange): Iterable<KeyValueEntry>;
  /**
   * Deletes every key in [from, to) locally, without a changelog record: after the next
   * commit's engine batch (so changes pending in the range go too). Only for keys never
   * read or written again, whose changelog expires them by time (see SegmentedBytesStore).
   * Absent: the layer cannot (a read-only view).
   */
  dropRange?(range: Required<KeyRange>): void;
  approximateCount(): Promise<number>;
  /** Pushes buffered changes one layer down (the cache's flush); synchronous. */
  flush(): void;
  /**
   * Flush, append the changes to the changelog (durable per its flush policy), then write
   * the data and the changelog offset reached in one engine batch.
   */
  commit(): Promise<void>;
  /** True when enough changes are buffered that the runtime should commit soon. */
  commitNeeded(): boolean;
  /** Next changelog offset the local engine covers (see KeyValueEngine). */
  readonly changelogOffset: number | null;
  /** Closes without committing: uncommitted changes are dropped (restore covers them). */
  close(): Promise<void>;
}

/** Map key for a byte key: latin1 maps each byte to one UTF-16 unit, so it is lossless. */
export function keyString(key: Buffer): string {
  return key.toString("latin1");
}

/**
 * Keys starting with these bytes hold the engine's own metadata (format version, the
 * changelog offset) and are refused as user keys.
 */
export const RESERVED_KEY_PREFIX: Buffer = Buffer.from([0x00, 0x00, 0xff]);

export function isReservedKey(key: Buffer): boolean {
  return key.length >= 3 && key[0] === 0x00 && key[1] === 0x00 && key[2] === 0xff;
}

export function inRange(key: Buffer, range: KeyRange | undefined): boolean {
  if (range === undefined) return true;
  if (range.from !== undefined && Buffer.compare(key, range.from) < 0) return false;
  if (range.to !== undefined && Buffer.compare(key, range.to) >= 0) return false;
  return true;
}

/** A point read of an engine: its own `lookup`, else the range that holds only `key`. */
export async function lookupIn(engine: KeyValueEngine, key: Buffer): Promise<Buffer | null> {
  if (engine.lookup !== undefined) return engine.lookup(key);
  for await (const e of engine.range({ from: key, to: Buffer.concat([key, Buffer.alloc(1)]) })) {
    return e.value;
  }
  return null;
}
