import { KeyNotPrefetchedError, StateStoreError } from "../errors.js";
import type { KeyRange, KeyValueBytesStore, KeyValueEntry } from "../key-value-bytes-store.js";
import { ResidentEntries, type ResidentEntry, residentEntry } from "./resident-entries.js";

/*
 * Key layout of the time-keyed stores (window and session), in the key-value byte layers
 * below them (cache, change-logging, engine), all integers big-endian:
 *
 *   SegmentedKey => segment:int64 keyLength:uint32 key:bytes time:int64 tail:bytes
 *   segment      => floor(time / segmentInterval)
 *   tail         => seq:uint32                       (window store: 0, or a sequence number
 *                                                     when duplicates are kept)
 *                 | start:int64                      (session store: time is the end)
 *
 * Segment first, so expiring a whole segment is one contiguous range; then the key with
 * its length (a key is never a prefix of another key's entries), then time, so one key's
 * entries in a segment are contiguous and ordered by time. Times are >= 0, so their
 * big-endian bytes sort as numbers. Segment ids stay far below 0xff0000000000, so no key
 * starts with the 00 00 ff prefix the engines reserve.
 */
export interface SegmentedEntry {
  key: Buffer;
  time: number;
  tail: Buffer;
  value: Buffer;
}

const KEY_OFFSET = 12;
/** What one range scan costs, in entries read (measured on RocksDB through the cache). */
const RANGE_COST_ENTRIES = 16;

export function encodeSegmentedKey(
  segmentInterval: number,
  key: Buffer,
  time: number,
  tail: Buffer,
): Buffer {
  const out = Buffer.allocUnsafe(KEY_OFFSET + key.length + 8 + tail.length);
  writeInt64(out, Math.floor(time / segmentInterval), 0);
  out.writeUInt32BE(key.length, 8);
  key.copy(out, KEY_OFFSET);
  writeInt64(out, time, KEY_OFFSET + key.length);
  tail.copy(out, KEY_OFFSET + key.length + 8);
  return out;
}

/** A whole number in [0, 2^53) as a big-endian int64, without a BigInt per write. */
function writeInt64(out: Buffer, n: number, at: number): void {
  const high = Math.floor(n / 0x1_0000_0000);
  out.writeUInt32BE(high, at);
  out.writeUInt32BE(n - high * 0x1_0000_0000, at + 4);
}

export function decodeSegmentedKey(bytes: Buffer): { key: Buffer; time: number; tail: Buffer } {
  const len = bytes.readUInt32BE(8);
  return {
    key: bytes.subarray(KEY_OFFSET, KEY_OFFSET + len),
    time: readInt64(bytes, KEY_OFFSET + len),
    tail: bytes.subarray(KEY_OFFSET + len + 8),
  };
}

/** writeInt64's inverse (times are >= 0 and below 2^53). */
function readInt64(bytes: Buffer, at: number): number {
  return bytes.readUInt32BE(at) * 0x1_0000_0000 + bytes.readUInt32BE(at + 4);
}

function segmentPrefix(segment: number, key?: Buffer): Buffer {
  const out = Buffer.allocUnsafe(key === undefined ? 8 : KEY_OFFSET + key.length);
  out.writeBigInt64BE(BigInt(segment), 0);
  if (key !== undefined) {
    out.writeUInt32BE(key.length, 8);
    key.copy(out, KEY_OFFSET);
  }
  return out;
}

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
    if (this.resident.put(keyStr, key, time, tail, value, decoded, value !== null)) {
      if (value !== null) return true;
    }
    this.bytes.put(encodeSegmentedKey(this.segmentIntervalMs, key, time, tail), value);
    return true;
  }

  /** Writes the dirty resident entries to the layers below (cache flush, commit step 1). */
  private writeDirty(): void {
    for (const e of this.resident.takeDirty()) {
      if (!e.dirty) continue; // deleted since: its tombstone went below then
      e.dirty = false;
      this.bytes.put(encodeSegmentedKey(this.segmentIntervalMs, e.key, e.time, e.tail), e.value);
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
  fetchAt(key: Buffer, time: number, keyStr?: string): ResidentEntry | undefined {
    if (time <= this.expiryLine) return undefined;
    const list = this.entriesOf(key, keyStr);
    let found: ResidentEntry | undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const e = list[i] as ResidentEntry;
      if (e.time === time) {
        found = e;
        break;
      }
      if (e.time < time) break;
    }
    return found;
  }

  /** Live entries of a prefetched key with fromTime <= time <= toTime, by (time, tail). */
  fetch(key: Buffer, fromTime: number, toTime: number, keyStr?: string): SegmentedEntry[] {
    const list = this.entriesOf(key, keyStr);
    const low = Math.max(fromTime, this.expiryLine + 1);
    const out: SegmentedEntry[] = [];
    for (const e of list) {
      if (e.time > toTime) break;
      if (e.time >= low) out.push(e);
    }
    return out;
  }

  /** The resident entries of a key (loaded at once over a synchronous engine). */
  private entriesOf(key: Buffer, keyStr?: string): ResidentEntry[] {
    const s = keyStr ?? key.toString("latin1");
    let list = this.resident.get(s);
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
    // over a synchronous engine nothing is awaited before the layers' commit starts
    const range = this.expiredRange();
    if (range !== undefined && this.bytes.rangeSync !== undefined) {
      this.expire(this.bytes.rangeSync(range));
    } else if (range !== undefined) {
      const doomed: KeyValueEntry[] = [];
      for await (const e of this.bytes.range(range)) doomed.push(e);
      this.expire(doomed);
    }
    // expired entries are never read again: resident keys let go of them
    const line = this.expiryLine;
    if (line > this.prunedAt) {
      this.resident.prune(line);
      this.prunedAt = line;
    }
    await this.bytes.commit();
  }

  commitNeeded(): boolean {
    return this.bytes.commitNeeded();
  }

  flush(): void {
    this.writeDirty();
    this.bytes.flush();
  }

  async close(): Promise<void> {
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
