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
  getProperty(property: string): string;
}

type RocksDbModule = (location: string) => LevelDown;

const require = createRequire(import.meta.url);
const rocksdb = require("rocksdb") as RocksDbModule;

export function createLevelDown(location: string): LevelDown {
  return rocksdb(location);
}

/** Runs a callback-style call as a promise. */
export function call<T = void>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, result) => (err ? reject(err) : resolve(result as T)));
  });
}
