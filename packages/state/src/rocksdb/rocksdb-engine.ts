import fs from "node:fs";
import path from "node:path";
import {
  KeyNotPrefetchedError,
  StateStoreError,
  StoreClosedError,
  StoreCorruptError,
  StoreLockedError,
} from "../errors.js";
import {
  isReservedKey,
  type KeyRange,
  type KeyValueChange,
  type KeyValueEngine,
  type KeyValueEntry,
  keyString,
  RESERVED_KEY_PREFIX,
  type RestoreBatch,
} from "../key-value-bytes-store.js";
import { call, createLevelDown, type LevelDown, WriteBatch } from "./rocksdb-binding.js";

/*
 * Metadata kept beside the data, under keys no user key may take (they start with the
 * reserved prefix 00 00 ff and sort before almost every user key):
 *
 *   FormatEntry          => key: 00 00 ff "format"           value: version:uint8 (= 1)
 *   ChangelogOffsetEntry => key: 00 00 ff "changelog-offset" value: offset:int64 big-endian
 *
 * `offset` is the next changelog offset the data covers (as a Kafka checkpoint): every
 * changelog record below it is reflected in the data, none at or above it. It is only
 * ever written in the same write batch as the data it covers (KIP-892/KIP-1035's point),
 * so a crash leaves data and offset in agreement. The format entry is written when the
 * database is created; a database with data but no (or an unknown) format entry is not
 * ours and is moved aside.
 */
const FORMAT_VERSION = 1;
const FORMAT_KEY = Buffer.concat([RESERVED_KEY_PREFIX, Buffer.from("format")]);
const OFFSET_KEY = Buffer.concat([RESERVED_KEY_PREFIX, Buffer.from("changelog-offset")]);
const META_KEYS = 2;
/** The first key past every reserved (00 00 ff…) key. */
const END_OF_RESERVED = Buffer.from([0x00, 0x01]);

function encodeOffset(offset: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64BE(BigInt(offset));
  return b;
}

export interface RocksDbEngineOptions {
  /** Told when a corrupt or foreign store is moved aside. Default: process.emitWarning. */
  warn?: (message: string) => void;
  /** RocksDB block cache (default 8 MiB): reads that miss the write-back cache. */
  blockCacheBytes?: number;
  /** RocksDB memtable size (default 16 MiB). */
  writeBufferBytes?: number;
}

/**
 * A key-value engine on one RocksDB database (a directory).
 *
 * Reads: Level's binding has no synchronous get, so `get` answers only keys given to the
 * last `prefetch` (one getMany) and throws KeyNotPrefetchedError for any other key,
 * naming the store: a read the runtime forgot to prefetch is a bug to fix, not a stall to
 * hide. Writes are one WriteBatch each, with the changelog offset in the same batch,
 * written to the WAL without fsync: a process crash (SIGKILL) loses nothing written; a
 * machine crash rolls back to an earlier consistent batch, which restore then replays.
 *
 * Opening: a database that fails to open as corrupt, or holds data in another format, is
 * renamed to `<dir>~corrupt-<ms>` with a warning and a fresh one is created, so the store
 * rebuilds from its changelog instead of failing on every start.
 */
export class RocksDbEngine implements KeyValueEngine {
  readonly persistent = true;
  private prefetched = new Map<string, Buffer | null>();
  /** Keys written while a getMany was in flight: their read values are older. */
  private writtenDuringFetch: Set<string> | null = null;
  private closed = false;

  private constructor(
    readonly name: string,
    readonly dir: string,
    private readonly db: LevelDown,
    private offset: number | null,
  ) {}

  static async open(
    dir: string,
    name: string,
    options: RocksDbEngineOptions = {},
  ): Promise<RocksDbEngine> {
    try {
      return await RocksDbEngine.openOnce(dir, name, options);
    } catch (e) {
      if (!(e instanceof StoreCorruptError)) throw e;
      const aside = `${dir}~corrupt-${Date.now()}`;
      fs.renameSync(dir, aside);
      const warn = options.warn ?? ((m: string) => process.emitWarning(m, "TributaryStateWarning"));
      warn(
        `store '${name}': ${e.message}; moved it aside to ${aside} and rebuilding it from its changelog (delete that directory once you no longer need it)`,
      );
      return await RocksDbEngine.openOnce(dir, name, options);
    }
  }

  /** Deletes a store's directory (state that is valid but no longer wanted). */
  static destroy(dir: string): void {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  private static async openOnce(
    dir: string,
    name: string,
    options: RocksDbEngineOptions,
  ): Promise<RocksDbEngine> {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    const db = createLevelDown(dir);
    try {
      await call((cb) =>
        db.open(
          {
            createIfMissing: true,
            compression: true,
            cacheSize: options.blockCacheBytes ?? 8 * 1024 * 1024,
            writeBufferSize: options.writeBufferBytes ?? 16 * 1024 * 1024,
            maxOpenFiles: 256,
          },
          cb,
        ),
      );
    } catch (e) {
      throw classifyOpenError(dir, e);
    }
    try {
      const [format, offset] = await call<(Buffer | undefined)[]>((cb) =>
        db.getMany([FORMAT_KEY, OFFSET_KEY], { asBuffer: true }, cb),
      );
      if (format === undefined) {
        if (await hasAnyKey(db)) {
          throw new StoreCorruptError(
            dir,
            "holds data but no Tributary format entry (not a store of ours)",
          );
        }
        await call((cb) => db.put(FORMAT_KEY, Buffer.from([FORMAT_VERSION]), { sync: true }, cb));
      } else if (format.length !== 1 || format[0] !== FORMAT_VERSION) {
        throw new StoreCorruptError(
          dir,
          `has store format ${format.toString("hex")}, expected ${FORMAT_VERSION}`,
        );
      }
      if (offset !== undefined && offset.length !== 8) {
        throw new StoreCorruptError(
          dir,
          `has a ${offset.length}-byte changelog offset entry, expected 8`,
        );
      }
      const stored = offset === undefined ? null : Number(offset.readBigInt64BE());
      return new RocksDbEngine(name, dir, db, stored);
    } catch (e) {
      await call((cb) => db.close(cb)).catch(() => {});
      if (e instanceof StateStoreError) throw e;
      throw classifyOpenError(dir, e);
    }
  }

  get changelogOffset(): number | null {
    return this.offset;
  }

  get(key: Buffer): Buffer | null {
    const v = this.prefetched.get(keyString(key));
    if (v !== undefined) return v;
    this.checkOpen();
    throw new KeyNotPrefetchedError(this.name, key);
  }

  async prefetch(keys: readonly Buffer[], known: readonly KeyValueChange[] = []): Promise<void> {
    this.checkOpen();
    const map = new Map<string, Buffer | null>();
    for (const k of known) map.set(keyString(k.key), k.value);
    const missing: Buffer[] = [];
    const missingNames: string[] = [];
    for (const k of keys) {
      const s = keyString(k);
      if (map.has(s)) continue;
      map.set(s, null);
      missing.push(k);
      missingNames.push(s);
    }
    this.prefetched = map;
    if (missing.length === 0) return;
    const written = new Set<string>();
    this.writtenDuringFetch = written;
    let values: (Buffer | undefined)[];
    try {
      values = await call<(Buffer | undefined)[]>((cb) =>
        this.db.getMany(missing, { asBuffer: true }, cb),
      );
    } finally {
      if (this.writtenDuringFetch === written) this.writtenDuringFetch = null;
    }
    if (this.prefetched !== map) return;
    for (let i = 0; i < missing.length; i++) {
      const v = values[i];
      const s = missingNames[i] as string;
      if (v !== undefined && !written.has(s)) map.set(s, v);
    }
  }

  /** One key read from RocksDB now; the prefetched set is left as it is. */
  async lookup(key: Buffer): Promise<Buffer | null> {
    this.checkOpen();
    const [v] = await call<(Buffer | undefined)[]>((cb) =>
      this.db.getMany([key], { asBuffer: true }, cb),
    );
    return v ?? null;
  }

  async write(changes: readonly KeyValueChange[], changelogOffset: number | null): Promise<void> {
    this.checkOpen();
    if (changes.length === 0 && changelogOffset === null) return;
    // Keys reach here as validated, non-empty Buffers (the typed store checks them), so
    // they go to the native batch as they are.
    const batch = new WriteBatch(this.db);
    for (const c of changes) {
      if (c.value === null) batch.del(c.key);
      else batch.put(c.key, c.value);
    }
    if (changelogOffset !== null) batch.put(OFFSET_KEY, encodeOffset(changelogOffset));
    await batch.write();
    if (changelogOffset !== null) this.offset = changelogOffset;
    const pre = this.prefetched;
    const written = this.writtenDuringFetch;
    if (pre.size > 0 || written !== null) {
      for (const c of changes) this.noteWritten(keyString(c.key), c.value, pre, written);
    }
  }

  restoreBatch(): RestoreBatch {
    this.checkOpen();
    const batch = new WriteBatch(this.db);
    // Restore runs before the task reads, so nothing is prefetched and keys need no
    // tracking; a standby or a test that prefetched meanwhile still gets them tracked.
    const tracked: KeyValueChange[] = [];
    return {
      get size() {
        return batch.size;
      },
      add: (key, value) => {
        if (value === null) batch.del(key);
        else batch.put(key, value);
        if (this.prefetched.size > 0 || this.writtenDuringFetch !== null) {
          tracked.push({ key, value });
        }
      },
      write: async (changelogOffset) => {
        this.checkOpen();
        batch.put(OFFSET_KEY, encodeOffset(changelogOffset));
        await batch.write();
        this.offset = changelogOffset;
        const pre = this.prefetched;
        const written = this.writtenDuringFetch;
        for (const c of tracked) this.noteWritten(keyString(c.key), c.value, pre, written);
      },
    };
  }

  async dropRange(range: Required<KeyRange>): Promise<void> {
    this.checkOpen();
    if (Buffer.compare(range.from, range.to) >= 0) return;
    // the engine's own keys are 00 00 ff…, all below 00 01
    if (
      Buffer.compare(range.from, END_OF_RESERVED) < 0 &&
      Buffer.compare(range.to, RESERVED_KEY_PREFIX) > 0
    ) {
      throw new StateStoreError(
        "INVALID_ARGUMENT",
        `store '${this.name}': a dropped range must not reach the engine's own keys (00 00 ff…)`,
      );
    }
    // off the task thread: the iteration and deletes run on the threadpool
    await call((cb) => this.db.clear({ gte: range.from, lt: range.to }, cb));
    // nothing reads dropped keys again, but a prefetched copy must not outlive them
    if (this.prefetched.size === 0) return;
    // latin1 strings compare as their bytes do
    const from = keyString(range.from);
    const to = keyString(range.to);
    for (const k of this.prefetched.keys()) if (k >= from && k < to) this.prefetched.set(k, null);
  }

  /** A write landed while reads may be prefetched or in flight: keep them current. */
  private noteWritten(
    key: string,
    value: Buffer | null,
    pre: Map<string, Buffer | null>,
    written: Set<string> | null,
  ): void {
    if (pre.has(key)) pre.set(key, value);
    written?.add(key);
  }

  async *range(range: KeyRange = {}): AsyncGenerator<KeyValueEntry> {
    this.checkOpen();
    const it = this.db.iterator({
      ...(range.from === undefined ? {} : { gte: range.from }),
      ...(range.to === undefined ? {} : { lt: range.to }),
      keyAsBuffer: true,
      valueAsBuffer: true,
    });
    try {
      for (;;) {
        const entry = await new Promise<KeyValueEntry | undefined>((resolve, reject) =>
          it.next((err, key, value) => {
            if (err) reject(err);
            else resolve(key === undefined ? undefined : { key, value: value as Buffer });
          }),
        );
        if (entry === undefined) return;
        if (isReservedKey(entry.key)) continue;
        yield entry;
      }
    } finally {
      await call((cb) => it.end(cb));
    }
  }

  async approximateCount(): Promise<number> {
    this.checkOpen();
    const n = Number(this.db.getProperty("rocksdb.estimate-num-keys"));
    return Math.max(0, (Number.isFinite(n) ? n : 0) - META_KEYS);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.prefetched = new Map();
    await call((cb) => this.db.close(cb));
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError(this.name);
  }
}

async function hasAnyKey(db: LevelDown): Promise<boolean> {
  const it = db.iterator({ limit: 1, keyAsBuffer: true, valueAsBuffer: false });
  try {
    return await new Promise<boolean>((resolve, reject) =>
      it.next((err, key) => (err ? reject(err) : resolve(key !== undefined))),
    );
  } finally {
    await call((cb) => it.end(cb));
  }
}

/**
 * RocksDB reports damaged or foreign files as "Corruption: …" (bad CURRENT, MANIFEST or
 * SST) or "Invalid argument: …" (options the files were not written with); those are the
 * store's own problem and it is rebuilt. Anything else (a held LOCK, a full disk, no
 * permission) is the environment's and is reported as it is.
 */
function classifyOpenError(dir: string, e: unknown): Error {
  const message = e instanceof Error ? e.message : String(e);
  // The message quotes file paths, so only its leading status word is matched.
  if (/^IO error: .*lock/i.test(message)) {
    return new StoreLockedError(dir, e);
  }
  if (/^(Corruption|Invalid argument|Not implemented)\b/i.test(message)) {
    return new StoreCorruptError(dir, `RocksDB cannot open it (${message})`, e);
  }
  return new StateStoreError("INTERNAL", `cannot open store at ${dir}: ${message}`, { cause: e });
}
