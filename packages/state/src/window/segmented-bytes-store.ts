import { KeyNotPrefetchedError, StateStoreError } from "../errors.js";
import type { KeyRange, KeyValueBytesStore, KeyValueEntry } from "../key-value-bytes-store.js";
import {
  ResidentEntries,
  type ResidentEntry,
  type ResidentMemo,
  residentEntry,
} from "./resident-entries.js";
import {
  decodeSegmentedKey,
  encodeSegmentedKey,
  KEY_OFFSET,
  segmentPrefix,
} from "./segmented-key.js";

/** One entry of a window or session store (its key layout: segmented-key.ts). */
export interface SegmentedEntry {
  key: Buffer;
  time: number;
  tail: Buffer;
  value: Buffer;
}

/** The value of an entry put decoded only, until its bytes are needed (`upsertDecoded`). */
const NOT_ENCODED = Buffer.alloc(0);

/** What one range scan costs, in entries read (measured on RocksDB through the cache). */
const RANGE_COST_ENTRIES = 16;

export interface SegmentedOptions {
  /** Entries whose time is at or below observedTime - retention are gone. */
  retentionMs: number;
  /** Default max(retention / 2, 60 s), as Kafka's segment interval. */
  segmentIntervalMs?: number;
  /**
   * Heap budget (estimated bytes) of the entries kept in memory across batches for the
   * keys read lately (ResidentEntries). Default 10 MiB; 0 keeps the current batch's only.
   */
  residentBytes?: number;
}

/**
 * The byte-level core shared by window and session stores (Kafka's
 * AbstractRocksDBSegmentedBytesStore, over our one-engine layers instead of one RocksDB
 * per segment): entries keyed by (key, time, tail), bucketed in time segments.
 *
 * Retention: `observedTime` is the largest time ever put. A put at or below
 * observedTime - retention is dropped (and counted), reads never return such entries,
 * and `commit` first deletes every entry of the segments wholly below that line — with
 * tombstones, so the compacted changelog forgets them too and restore never replays them.
 *
 * After open, `init()` recovers the observed time from the data (restored or local).
 *
 * Reads are synchronous on the hot path: `prefetch(keys)` makes every live entry of those
 * keys resident in memory (ResidentEntries), loading only the keys not resident yet, after
 * which `fetch` answers for them, puts included. Resident keys stay across batches within
 * a heap budget, so a key coming back batch after batch is read from the engine once. A
 * fetch of a key not resident throws KeyNotPrefetchedError. Not thread-safe; one task
 * owns it.
 */
export class SegmentedBytesStore {
  readonly segmentIntervalMs: number;
  readonly retentionMs: number;
  private observed = -1;
  /** Set by `expireBy`: entries expire behind this time, not behind `observed`. */
  private expiryTime: number | null = null;
  /** Segments below this one were deleted by a commit (-1: none yet since open). */
  private expiredBelow = -1;
  /** Puts dropped because their time had already expired. */
  expiredPuts = 0;
  /** Entries deleted by segment expiry. */
  expiredEntries = 0;
  /** Live entries at the last whole-segment scan (the engine's estimate before one). */
  private liveEntries: number | undefined;
  /** keyString → entries of that key, sorted by (time, tail), for the keys read lately. */
  private readonly resident: ResidentEntries;
  /** The expiry line when the resident entries last let go of expired ones. */
  private prunedAt = -1;
  /**
   * The entry the last `fetchAt` found, and its key string: an aggregate reads a window
   * and then writes it, and the write finds it here instead of searching again. Forgotten
   * whenever an entry may leave the resident entries (delete, prune, evict, close).
   */
  private lastAt: ResidentEntry | undefined;
  private lastAtKey = "";
  /** Encodes a value the typed layer put decoded only (`upsertDecoded`); set by that layer. */
  private encodeValue: ((decoded: unknown) => Buffer) | null = null;

  constructor(
    readonly bytes: KeyValueBytesStore,
    options: SegmentedOptions,
  ) {
    if (!(options.retentionMs >= 1)) {
      throw new StateStoreError(
        "INVALID_ARGUMENT",
        `store '${bytes.name}': retention must be at least 1 ms, got ${options.retentionMs}`,
      );
    }
    this.retentionMs = options.retentionMs;
    this.segmentIntervalMs = Math.max(
      1,
      Math.floor(options.segmentIntervalMs ?? Math.max(options.retentionMs / 2, 60_000)),
    );
    this.resident = new ResidentEntries(options.residentBytes ?? 10 * 1024 * 1024);
  }

  get name(): string {
    return this.bytes.name;
  }

  /** The largest time put so far (-1 before the first put since open). */
  get observedTime(): number {
    return this.observed;
  }

  /** Entries with time at or below this are expired. */
  get expiryLine(): number {
    return (this.expiryTime ?? this.observed) - this.retentionMs;
  }

  /**
   * From now on, entries expire `retentionMs` behind `time` (never moving back) instead of
   * behind the largest time put: the owner's event time, when puts can run ahead of it
   * (a streams task whose time is its upstream tasks' low watermark, so records of a fast
   * upstream task do not expire the windows a slow one still writes into).
   */
  expireBy(time: number): void {
    if (this.expiryTime === null || time > this.expiryTime) this.expiryTime = time;
  }

  /**
   * Stores (value null: deletes) the entry; returns false when its time has expired. A
   * put of a resident key stays in memory, dirty, until `flush` (or `commit`) writes it to
   * the layers below; a delete, or a put of a key not resident, goes below at once.
   * `decoded`: the typed value, memoized on the entry when it is immutable.
   */
  put(
    key: Buffer,
    time: number,
    tail: Buffer,
    value: Buffer | null,
    decoded: unknown = undefined,
    keyStr: string = key.toString("latin1"),
  ): boolean {
    return this.upsert(key, time, tail, value, decoded, keyStr) !== false;
  }

  /**
   * `put` that tells where the value went: the resident entry now holding it (dirty until
   * the flush), true when it went to the layers below (a delete, or a key not resident),
   * false when its time has expired.
   */
  upsert(
    key: Buffer,
    time: number,
    tail: Buffer,
    value: Buffer | null,
    decoded: unknown,
    keyStr: string,
  ): ResidentEntry | boolean {
    if (!(Number.isInteger(time) && time >= 0)) {
      throw new StateStoreError(
        "INVALID_ARGUMENT",
        `store '${this.name}': times must be whole ms >= 0, got ${time}`,
      );
    }
    if (time > this.observed) this.observed = time;
    if (time <= this.expiryLine) {
      this.expiredPuts++;
      return false;
    }
    if (value === null) {
      this.lastAt = undefined; // the entry may leave the resident list
      this.resident.put(keyStr, key, time, tail, null, undefined, false);
    } else {
      const at = this.lastAt;
      // the window the aggregate just read: no search
      if (
        at !== undefined &&
        at.time === time &&
        this.lastAtKey === keyStr &&
        at.tail.equals(tail)
      ) {
        this.resident.update(at, value, decoded);
        return at;
      }
      const e = this.resident.put(keyStr, key, time, tail, value, decoded, true);
      if (e !== null) return e;
    }
    this.bytes.put(encodeSegmentedKey(this.segmentIntervalMs, key, time, tail), value);
    return true;
  }

  /**
   * `upsert` of a value kept decoded only (an immutable one, e.g. a count): its bytes are
   * encoded when the entry is written below or read as bytes, once per flush instead of
   * once per put. Needs `setValueEncoder`.
   */
  upsertDecoded(
    key: Buffer,
    time: number,
    tail: Buffer,
    decoded: unknown,
    keyStr: string,
  ): ResidentEntry | boolean {
    const encode = this.encodeValue as (decoded: unknown) => Buffer;
    const at = this.lastAt;
    if (
      at !== undefined &&
      at.time === time &&
      this.lastAtKey === keyStr &&
      time > this.expiryLine &&
      at.tail.equals(tail)
    ) {
      this.resident.update(at, NOT_ENCODED, decoded);
      return at;
    }
    if (this.resident.get(keyStr) === undefined) {
      return this.upsert(key, time, tail, encode(decoded), decoded, keyStr);
    }
    return this.upsert(key, time, tail, NOT_ENCODED, decoded, keyStr);
  }

  /** How `upsertDecoded` values become bytes (the typed store's value serde). */
  setValueEncoder(encode: (decoded: unknown) => Buffer): void {
    this.encodeValue = encode;
  }

  /** The entry's bytes, encoded now if it was put decoded only. */
  private valueOf(e: ResidentEntry): Buffer {
    if (e.value === NOT_ENCODED) {
      e.value = (this.encodeValue as (decoded: unknown) => Buffer)(e.decoded);
      this.resident.resized(e.value.length);
    }
    return e.value;
  }

  /** Writes the dirty resident entries to the layers below (cache flush, commit step 1). */
  private writeDirty(): void {
    for (const e of this.resident.takeDirty()) {
      if (!e.dirty) continue; // deleted since: its tombstone went below then
      e.dirty = false;
      const value = this.valueOf(e);
      e.storeKey ??= encodeSegmentedKey(this.segmentIntervalMs, e.key, e.time, e.tail);
      this.bytes.put(e.storeKey, value);
    }
  }

  /**
   * Makes every live entry of `keys` resident for synchronous `fetch`, loading the keys
   * not resident yet, then evicts keys of earlier batches past the budget.
   *
   * Two ways, whichever reads less: one range scan per key and live segment (few keys),
   * or one scan of each whole live segment keeping the wanted keys (a batch of thousands
   * of keys over a store not much larger: a windowed count over 10,000 users, whose
   * batches name most of them). A range scan costs about as much as reading
   * RANGE_COST_ENTRIES entries, and the live entry count is known from the last whole scan.
   */
  async prefetch(keys: readonly Buffer[]): Promise<void> {
    const missing = this.resident.beginBatch(keys);
    const fetched = new Map<string, ResidentEntry[]>();
    for (const s of missing.keys()) fetched.set(s, []);
    if (this.observed >= 0 && fetched.size > 0) {
      const first = Math.floor(Math.max(0, this.expiryLine + 1) / this.segmentIntervalMs);
      const last = Math.floor(this.observed / this.segmentIntervalMs);
      const segments = last - first + 1;
      this.liveEntries ??= await this.bytes.approximateCount();
      if (fetched.size * segments * RANGE_COST_ENTRIES > this.liveEntries) {
        await this.scanSegments(first, last, fetched);
      } else {
        for (const [s, list] of fetched) {
          const key = Buffer.from(s, "latin1");
          for (let seg = first; seg <= last; seg++) {
            const from = segmentPrefix(seg, key);
            const to = Buffer.concat([from, Buffer.alloc(17, 0xff)]);
            for await (const e of this.bytes.range({ from, to })) {
              const d = decodeSegmentedKey(e.key);
              list.push(residentEntry(key, d.time, Buffer.from(d.tail), e.value));
            }
          }
        }
      }
    }
    for (const [s, list] of fetched) this.resident.add(s, list);
    if (this.resident.overBudget) {
      this.lastAt = undefined;
      // evicted keys are read from below again: their dirty entries must be there
      this.writeDirty();
      this.resident.evict();
    }
  }

  /** Whole live segments, keeping the entries of the wanted keys (in (time, tail) order). */
  private async scanSegments(
    first: number,
    last: number,
    wanted: Map<string, ResidentEntry[]>,
  ): Promise<void> {
    let seen = 0;
    for await (const e of this.bytes.range({
      from: segmentPrefix(first),
      to: segmentPrefix(last + 1),
    })) {
      seen++;
      const len = e.key.readUInt32BE(8);
      const list = wanted.get(e.key.toString("latin1", KEY_OFFSET, KEY_OFFSET + len));
      if (list === undefined) continue;
      const d = decodeSegmentedKey(e.key);
      list.push(residentEntry(Buffer.from(d.key), d.time, Buffer.from(d.tail), e.value));
    }
    // one key's entries arrive segment by segment, each segment by (time, tail)
    this.liveEntries = seen;
  }

  /** Every live entry of `key`, by (time, tail), read synchronously (memory engine). */
  private loadSync(key: Buffer): ResidentEntry[] {
    const list: ResidentEntry[] = [];
    if (this.observed < 0) return list;
    const first = Math.floor(Math.max(0, this.expiryLine + 1) / this.segmentIntervalMs);
    const last = Math.floor(this.observed / this.segmentIntervalMs);
    // one scan of the live segments (there may be millions of empty ones before the first
    // record's): the memory engine reads them all at the same cost
    const range = { from: segmentPrefix(first), to: segmentPrefix(last + 1) };
    const wanted = key.toString("latin1");
    for (const e of this.bytes.rangeSync!(range)) {
      const len = e.key.readUInt32BE(8);
      if (e.key.toString("latin1", KEY_OFFSET, KEY_OFFSET + len) !== wanted) continue;
      const d = decodeSegmentedKey(e.key);
      list.push(residentEntry(key, d.time, Buffer.from(d.tail), e.value));
    }
    return list;
  }

  /**
   * The last live entry (by tail) of a prefetched key with exactly this time, or
   * undefined: `fetch(key, time, time)` without the array.
   */
  fetchAt(
    key: Buffer,
    time: number,
    keyStr?: string,
    memo?: ResidentMemo,
  ): ResidentEntry | undefined {
    if (time <= this.expiryLine) return undefined;
    const list = this.entriesOf(key, keyStr, memo);
    for (let i = list.length - 1; i >= 0; i--) {
      const e = list[i] as ResidentEntry;
      if (e.time === time) {
        this.lastAt = e;
        this.lastAtKey = keyStr ?? key.toString("latin1");
        return e;
      }
      if (e.time < time) break;
    }
    return undefined;
  }

  /** Live entries of a prefetched key with fromTime <= time <= toTime, by (time, tail). */
  fetch(key: Buffer, fromTime: number, toTime: number, keyStr?: string): SegmentedEntry[] {
    const list = this.entriesOf(key, keyStr);
    const low = Math.max(fromTime, this.expiryLine + 1);
    const out: SegmentedEntry[] = [];
    for (const e of list) {
      if (e.time > toTime) break;
      if (e.time >= low) {
        this.valueOf(e);
        out.push(e);
      }
    }
    return out;
  }

  /** The resident entries of a key (loaded at once over a synchronous engine). */
  private entriesOf(key: Buffer, keyStr?: string, memo?: ResidentMemo): ResidentEntry[] {
    const s = keyStr ?? key.toString("latin1");
    let list = memo === undefined ? this.resident.get(s) : this.resident.getMemo(s, memo);
    if (list === undefined) {
      if (this.bytes.rangeSync === undefined) throw new KeyNotPrefetchedError(this.name, key);
      // a synchronous engine answers at once; kept (and updated by puts) like a prefetch
      list = this.loadSync(key);
      this.resident.add(s, list);
    }
    return list;
  }

  /** Every live entry with fromTime <= time <= toTime, in (segment, key, time) order. */
  async *all(fromTime = 0, toTime = Number.MAX_SAFE_INTEGER): AsyncGenerator<SegmentedEntry> {
    this.writeDirty();
    const { low, range } = this.allRange(fromTime, toTime);
    for await (const e of this.bytes.range(range)) {
      const d = decodeSegmentedKey(e.key);
      if (d.time < low || d.time > toTime) continue;
      yield { key: d.key, time: d.time, tail: d.tail, value: e.value };
    }
  }

  /** `all`, synchronously: only over a synchronous engine (memory), else it throws. */
  allSync(fromTime = 0, toTime = Number.MAX_SAFE_INTEGER): SegmentedEntry[] {
    const scan = this.bytes.rangeSync;
    if (scan === undefined) {
      throw new StateStoreError(
        "INVALID_ARGUMENT",
        `store '${this.name}' is on RocksDB: it cannot be scanned synchronously; use all()`,
      );
    }
    this.writeDirty();
    const { low, range } = this.allRange(fromTime, toTime);
    const out: SegmentedEntry[] = [];
    for (const e of scan.call(this.bytes, range)) {
      const d = decodeSegmentedKey(e.key);
      if (d.time >= low && d.time <= toTime) out.push({ ...d, value: e.value });
    }
    return out;
  }

  private allRange(fromTime: number, toTime: number): { low: number; range: KeyRange } {
    const low = Math.max(fromTime, this.expiryLine + 1);
    const from = segmentPrefix(Math.floor(low / this.segmentIntervalMs));
    const to = segmentPrefix(Math.floor(Math.min(toTime, 2 ** 52) / this.segmentIntervalMs) + 1);
    return { low, range: { from, to } };
  }

  /**
   * Deletes the segments wholly below the expiry line, then commits the layers below
   * (cache flush → changelog append → one engine batch with the changelog offset).
   */
  async commit(): Promise<void> {
    this.writeDirty();
    const range = this.expiredRange();
    this.pruneResident();
    if (range === undefined || this.bytes.rangeSync !== undefined) {
      // over a synchronous engine the tombstones go into this very commit
      if (range !== undefined) this.expire(this.bytes.rangeSync!(range));
      return this.bytes.commit();
    }
    // The layers' commit starts before anything is awaited: under exactly-once the
    // change-logging layer must enter the CommitBarrier synchronously, or the committer
    // seals the transaction without this store's append, which then reaches the producer
    // outside any transaction. So the tombstones of a RocksDB scan go into the NEXT
    // commit; reads stop at the expiry line meanwhile, and a close before that commit
    // only leaves them to the first commit after reopening (expiredBelow starts over).
    const committed = this.bytes.commit();
    const scanned = this.scanExpired(range);
    const [c, s] = await Promise.allSettled([committed, scanned]);
    if (c.status === "rejected") throw c.reason;
    if (s.status === "rejected") throw s.reason;
  }

  private async scanExpired(range: KeyRange): Promise<void> {
    const doomed: KeyValueEntry[] = [];
    for await (const e of this.bytes.range(range)) doomed.push(e);
    this.expire(doomed);
  }

  /** Expired entries are never read again: resident keys let go of them. */
  private pruneResident(): void {
    const line = this.expiryLine;
    if (line > this.prunedAt) {
      this.lastAt = undefined;
      this.resident.prune(line);
      this.prunedAt = line;
    }
  }

  commitNeeded(): boolean {
    return this.bytes.commitNeeded();
  }

  flush(): void {
    this.writeDirty();
    this.bytes.flush();
  }

  async close(): Promise<void> {
    this.lastAt = undefined;
    this.resident.clear();
    await this.bytes.close();
  }

  /** The keys of the segments wholly below the expiry line; undefined: none. */
  private expiredRange(): { from?: Buffer; to: Buffer } | undefined {
    if (this.observed < 0) return undefined;
    const line = this.expiryLine;
    if (line < 0) return undefined;
    // segments whose last ms is at or below the line are wholly expired; those below the
    // last expiry are empty already (puts there are refused), so only the new ones are read
    const below = Math.floor((line + 1) / this.segmentIntervalMs);
    if (below <= this.expiredBelow) return undefined;
    const from = this.expiredBelow;
    this.expiredBelow = below;
    return { ...(from <= 0 ? {} : { from: segmentPrefix(from) }), to: segmentPrefix(below) };
  }

  /** Deletes these entries (a scan of expiredRange()): tombstones, logged like any put. */
  private expire(entries: Iterable<KeyValueEntry>): void {
    const doomed: Buffer[] = [];
    for (const e of entries) doomed.push(Buffer.from(e.key));
    for (const k of doomed) this.bytes.put(k, null);
    this.expiredEntries += doomed.length;
  }

  /**
   * Recovers the observed time after open (restored or local data): the largest time in
   * the last segment. Call once before use.
   */
  async init(): Promise<void> {
    if (this.bytes.rangeSync !== undefined) return this.initSync();
    const seg = await this.lastSegment();
    if (seg === null) return;
    for await (const e of this.bytes.range({ from: segmentPrefix(seg) })) {
      const t = decodeSegmentedKey(e.key).time;
      if (t > this.observed) this.observed = t;
    }
  }

  /** `init` over a synchronous engine: the observed time is the largest time stored. */
  initSync(): void {
    for (const e of this.bytes.rangeSync!()) {
      const t = decodeSegmentedKey(e.key).time;
      if (t > this.observed) this.observed = t;
    }
  }

  private async lastSegment(): Promise<number | null> {
    // no reverse scan in the layers: the last segment is found by walking segment starts
    let last: number | null = null;
    let from: Buffer | undefined;
    for (;;) {
      let seg: number | null = null;
      for await (const e of this.bytes.range(from === undefined ? {} : { from })) {
        seg = Number(e.key.readBigInt64BE(0));
        break;
      }
      if (seg === null) return last;
      last = seg;
      from = segmentPrefix(seg + 1);
    }
  }
}
