import { createRequire } from "node:module";

/**
 * The part of the `rocksdb` package (Level's binding, abstract-leveldown API) this package
 * uses, typed here because the package ships no types. Every call is asynchronous with a
 * callback; there is no synchronous read, which is why the RocksDB engine serves sync
 * reads only from a prefetched set (see RocksDbEngine).
 */
export type Callback<T = void> = (err: Error | null | undefined, result?: T) => void;

export type BatchOperation =
  | { type: "put"; key: Buffer; value: Buffer }
  | { type: "del"; key: Buffer };

export interface LevelIterator {
  next(cb: (err: Error | null | undefined, key?: Buffer, value?: Buffer) => void): void;
  end(cb: Callback): void;
}

export interface IteratorOptions {
  gte?: Buffer;
  lt?: Buffer;
  limit?: number;
  keyAsBuffer?: boolean;
  valueAsBuffer?: boolean;
  highWaterMark?: number;
}

export interface OpenOptions {
  createIfMissing?: boolean;
  errorIfExists?: boolean;
  compression?: boolean;
  cacheSize?: number;
  writeBufferSize?: number;
  maxOpenFiles?: number;
  blockSize?: number;
}

export interface LevelDown {
  readonly status: string;
  /** The native database handle the binding's functions take. */
  readonly context: unknown;
  open(options: OpenOptions, cb: Callback): void;
  close(cb: Callback): void;
  get(
    key: Buffer,
    options: { asBuffer?: boolean; fillCache?: boolean },
    cb: Callback<Buffer>,
  ): void;
  getMany(
    keys: Buffer[],
    options: { asBuffer?: boolean; fillCache?: boolean },
    cb: Callback<(Buffer | undefined)[]>,
  ): void;
  put(key: Buffer, value: Buffer, options: { sync?: boolean }, cb: Callback): void;
  batch(ops: BatchOperation[], options: { sync?: boolean }, cb: Callback): void;
  /**
   * The binding's batch without abstract-leveldown's per-operation checks and copies:
   * only for operations whose keys and values are already non-empty-key Buffers.
   */
  _batch(ops: BatchOperation[], options: { sync?: boolean }, cb: Callback): void;
  iterator(options: IteratorOptions): LevelIterator;
  /**
   * Deletes the keys in [gte, lt): the binding iterates them on the threadpool and writes
   * their deletions in batches of ~16 KiB of keys (rocksdb 5.x exposes no DeleteRange).
   */
  clear(options: { gte: Buffer; lt: Buffer }, cb: Callback): void;
  getProperty(property: string): string;
}

type RocksDbModule = (location: string) => LevelDown;

/** A native rocksdb::WriteBatch (freed by GC; a pending write keeps it alive). */
export interface NativeBatch {
  readonly __nativeBatch: unique symbol;
}

/**
 * The binding's chained-batch functions. `LevelDown._batch` takes an array of
 * {type, key, value} objects and reads each one back through five N-API property
 * lookups (most of a restore's CPU in the profile); these take the key and value as
 * arguments, so an operation costs one native call and no JavaScript object.
 */
interface NativeBinding {
  batch_init(db: unknown): NativeBatch;
  batch_put(batch: NativeBatch, key: Buffer, value: Buffer): void;
  batch_del(batch: NativeBatch, key: Buffer): void;
  batch_write(batch: NativeBatch, options: { sync?: boolean }, cb: Callback): void;
}

const require = createRequire(import.meta.url);
const rocksdb = require("rocksdb") as RocksDbModule;
const binding = require("rocksdb/binding") as NativeBinding;

/**
 * One atomic write being built: puts and deletes are copied into the native batch as
 * they are added, and `write` applies them all (on the threadpool) or none. Keys must be
 * non-empty Buffers (the binding copies whatever bytes it is given).
 */
export class WriteBatch {
  private readonly batch: NativeBatch;
  /** Operations added so far. */
  size = 0;

  constructor(db: LevelDown) {
    this.batch = binding.batch_init(db.context);
  }

  put(key: Buffer, value: Buffer): void {
    binding.batch_put(this.batch, key, value);
    this.size++;
  }

  del(key: Buffer): void {
    binding.batch_del(this.batch, key);
    this.size++;
  }

  /** Writes the batch to the WAL (no fsync unless `sync`) and the memtable. */
  write(sync = false): Promise<void> {
    return call((cb) => binding.batch_write(this.batch, { sync }, cb));
  }
}

export function createLevelDown(location: string): LevelDown {
  return rocksdb(location);
}

/** Runs a callback-style call as a promise. */
export function call<T = void>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, result) => (err ? reject(err) : resolve(result as T)));
  });
}
