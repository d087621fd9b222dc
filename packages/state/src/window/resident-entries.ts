import type { SegmentedEntry } from "./segmented-bytes-store.js";

/** Estimated heap cost of one entry beyond its tail and value bytes (object, array slot). */
const ENTRY_OVERHEAD_BYTES = 96;
/** Estimated heap cost of one resident key beyond its entries (Map slot, record, string). */
const KEY_OVERHEAD_BYTES = 128;

/** An entry held in memory: maybe not written below yet, maybe decoded by the typed layer. */
export interface ResidentEntry extends SegmentedEntry {
  /** Put since the last flush and not written to the layers below yet. */
  dirty: boolean;
  /**
   * The value deserialized, memoized by the typed store for an immutable (primitive)
   * value so a window updated many times decodes once; undefined until then.
   */
  decoded: unknown;
  /**
   * The owner's record-cache slot: the change of this entry waiting for the next cache
   * flush (the typed layer's object), null when none — so an aggregate updating a window
   * finds its pending change without a lookup.
   */
  cacheSlot: CacheSlot | null;
  /** Its key in the layers below (segmented-key.ts), encoded at its first write down and
   * kept: a window written at many commits is encoded once. */
  storeKey: Buffer | null;
}

/**
 * What an owner hangs on an entry's `cacheSlot`: it points back at the entry, so that when
 * the entry's key is evicted and read back, the slot moves to the new entry (and the
 * waiting change is renewed, not doubled, by the next update). The owner clears both
 * sides when the change is handed on.
 */
export interface CacheSlot {
  entry: ResidentEntry | null;
}

export function residentEntry(
  key: Buffer,
  time: number,
  tail: Buffer,
  value: Buffer,
): ResidentEntry {
  return {
    key,
    time,
    tail,
    value,
    dirty: false,
    decoded: undefined,
    cacheSlot: null,
    storeKey: null,
  };
}

/**
 * A caller's memo of one key's resident entries (the typed store keeps one per hot key),
 * valid while its generation is the resident entries' own: any key dropped, added or
 * cleared starts a new one.
 */
export interface ResidentMemo {
  entries: ResidentEntry[] | undefined;
  generation: number;
}

interface ResidentKey {
  entries: ResidentEntry[];
  /** The batch that last read this key: keys of the current batch are never evicted. */
  batch: number;
}

/**
 * Every live entry of the keys a window or session store read lately, sorted by
 * (time, tail) — the read side of the store's cache, kept across batches so a key that
 * comes back (a windowed count over 10,000 users: every batch names most of them) is read
 * from the engine once, not once per batch. The store keeps it exact: its puts update a
 * resident key's entries as they go below, and it drops what expires.
 *
 * It is also the store's write-back cache: a put of a resident key only marks its entry
 * dirty (`put` with `defer`), and `takeDirty` hands the dirty entries to the store to
 * write below at flush — so a window updated many times between two commits is encoded
 * and change-logged once.
 *
 * Bounded by `maxBytes` (an estimate of the heap held): when a batch's keys push it past,
 * the keys read longest ago go first, never one of the current batch (the store writes
 * the dirty entries down before). With 0 it holds the current batch's keys only. Not
 * thread-safe; one task owns it.
 */
export class ResidentEntries {
  private readonly keys = new Map<string, ResidentKey>();
  private bytes = 0;
  private batch = 0;
  /** Bumped when a key's entries list may have been dropped or replaced (ResidentMemo). */
  private generation = 0;
  /** Entries put dirty since the last `takeDirty` (an entry deleted since is not dirty). */
  private dirty: ResidentEntry[] = [];
  /**
   * Evicted keys' entries that held a cache slot then, by key string: `add` moves a slot
   * still held to the key's entry read back. Stale ones (slots since cleared by a cache
   * flush) are let go once it doubles, so it holds about twice the entries with waiting
   * changes (bounded by the record cache's budget) at most, at amortized constant cost.
   */
  private detached = new Map<string, ResidentEntry[]>();
  private detachedAfterPurge = 0;

  constructor(readonly maxBytes: number) {}

  get size(): number {
    return this.keys.size;
  }

  /** The entries of a resident key (live to its owner, which must not reorder them). */
  get(keyStr: string): ResidentEntry[] | undefined {
    return this.keys.get(keyStr)?.entries;
  }

  /** `get` through the caller's memo of the key: no map lookup while the memo holds. */
  getMemo(keyStr: string, memo: ResidentMemo): ResidentEntry[] | undefined {
    if (memo.generation === this.generation && memo.entries !== undefined) return memo.entries;
    const list = this.keys.get(keyStr)?.entries;
    memo.entries = list;
    memo.generation = this.generation;
    return list;
  }

  /**
   * Starts a batch reading `keys`: the resident ones are stamped with this batch (the
   * eviction order); returns the others (deduplicated, by key string), which the caller
   * loads and hands to `add`.
   */
  beginBatch(keys: readonly Buffer[]): Map<string, Buffer> {
    const batch = ++this.batch;
    const missing = new Map<string, Buffer>();
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as Buffer;
      const s = key.toString("latin1");
      const r = this.keys.get(s);
      if (r !== undefined) r.batch = batch;
      else if (!missing.has(s)) missing.set(s, key);
    }
    return missing;
  }

  /** Makes a loaded key resident (for the current batch), then evicts past the budget. */
  add(keyStr: string, entries: ResidentEntry[]): void {
    if (this.detached.size > 0) this.reattach(keyStr, entries);
    this.keys.set(keyStr, { entries, batch: this.batch });
    this.generation++;
    this.bytes += KEY_OVERHEAD_BYTES + keyStr.length;
    for (const e of entries) this.bytes += entryBytes(e);
  }

  /** Whether `evict` would drop keys (the store writes the dirty entries down first). */
  get overBudget(): boolean {
    return this.bytes > this.maxBytes;
  }

  /**
   * Evicts the keys read longest ago (by the batch that last read them), never one of the
   * current batch, down to 3/4 of the budget: stamping keys per batch is cheaper than
   * reordering a map per read, and the sort this needs then runs once per quarter of the
   * budget loaded, not once per batch.
   */
  evict(): void {
    if (this.bytes <= this.maxBytes) return;
    if (this.detached.size > 2 * this.detachedAfterPurge + 64) {
      for (const [s, list] of this.detached) {
        if (!list.some((e) => e.cacheSlot !== null)) this.detached.delete(s);
      }
      this.detachedAfterPurge = this.detached.size;
    }
    const low = Math.floor((this.maxBytes * 3) / 4);
    const old: [string, ResidentKey][] = [];
    for (const e of this.keys) if (e[1].batch !== this.batch) old.push(e);
    old.sort((a, b) => a[1].batch - b[1].batch);
    for (const [s, r] of old) {
      if (this.bytes <= low) break;
      this.drop(s, r);
    }
  }

  /**
   * Applies a put to a resident key's entries (value null: removes the entry), keeping
   * them sorted by (time, tail); with `defer` the entry is left dirty, for `takeDirty`.
   * Returns the entry put, or null for a delete or a key not resident (left alone: the
   * caller writes the put below, where a batch reading the key loads it from).
   */
  put(
    keyStr: string,
    key: Buffer,
    time: number,
    tail: Buffer,
    value: Buffer | null,
    decoded: unknown,
    defer: boolean,
  ): ResidentEntry | null {
    const r = this.keys.get(keyStr);
    if (r === undefined) return null;
    const list = r.entries;
    const lo = searchTimeTail(list, time, tail);
    const at = list[lo];
    const same = at !== undefined && compareTimeTail(at.time, at.tail, time, tail) === 0;
    if (value === null) {
      if (same) {
        list.splice(lo, 1);
        this.bytes -= entryBytes(at);
        at.dirty = false;
      }
      return null;
    }
    let e: ResidentEntry;
    if (same) {
      this.bytes += value.length - at.value.length;
      at.value = value;
      at.decoded = decoded;
      e = at;
    } else {
      e = { key, time, tail, value, dirty: false, decoded, cacheSlot: null, storeKey: null };
      if (lo === list.length) list.push(e);
      else list.splice(lo, 0, e);
      this.bytes += entryBytes(e);
    }
    if (defer && !e.dirty) {
      e.dirty = true;
      this.dirty.push(e);
    }
    return e;
  }

  /** A new value for an entry still resident (one `get` or `put` returned), left dirty. */
  update(e: ResidentEntry, value: Buffer, decoded: unknown): void {
    this.bytes += value.length - e.value.length;
    e.value = value;
    e.decoded = decoded;
    if (!e.dirty) {
      e.dirty = true;
      this.dirty.push(e);
    }
  }

  /** An entry's value grew by `bytes` in place (its bytes encoded late). */
  resized(bytes: number): void {
    this.bytes += bytes;
  }

  /** The entries left dirty since the last call (each still dirty); the caller writes them
   * below and clears their flag. */
  takeDirty(): ResidentEntry[] {
    const out = this.dirty;
    this.dirty = [];
    return out;
  }

  /**
   * Drops every entry with time at or below `line` (expired): they are never read again.
   * A key left with none stays resident (known empty): a join buffer's keys come back
   * after their entries expired, and reading them again below would find nothing.
   */
  prune(line: number): void {
    for (const r of this.keys.values()) {
      const list = r.entries;
      let n = 0;
      while (n < list.length && (list[n] as ResidentEntry).time <= line) n++;
      if (n === 0) continue;
      for (let i = 0; i < n; i++) this.bytes -= entryBytes(list[i] as ResidentEntry);
      list.splice(0, n);
    }
  }

  clear(): void {
    this.generation++;
    this.keys.clear();
    this.detached.clear();
    this.detachedAfterPurge = 0;
    this.dirty = [];
    this.bytes = 0;
  }

  private drop(s: string, r: ResidentKey): void {
    this.generation++;
    this.keys.delete(s);
    this.bytes -= KEY_OVERHEAD_BYTES + s.length;
    const slotted: ResidentEntry[] = [];
    for (const e of r.entries) {
      this.bytes -= entryBytes(e);
      if (e.cacheSlot !== null) slotted.push(e);
    }
    if (slotted.length > 0) this.detached.set(s, slotted);
  }

  /**
   * Moves the cache slots still held by the key's evicted entries to the same (time, tail)
   * entries read back: without this a window evicted and re-read between two cache
   * flushes started a second waiting change and went downstream twice at the flush. An
   * entry not read back (expired meanwhile) keeps its slot; its change is handed on as is.
   */
  private reattach(keyStr: string, entries: ResidentEntry[]): void {
    const old = this.detached.get(keyStr);
    if (old === undefined) return;
    this.detached.delete(keyStr);
    for (const o of old) {
      const slot = o.cacheSlot;
      if (slot === null) continue;
      const at = entries[searchTimeTail(entries, o.time, o.tail)];
      if (at === undefined || compareTimeTail(at.time, at.tail, o.time, o.tail) !== 0) continue;
      at.cacheSlot = slot;
      slot.entry = at;
      o.cacheSlot = null;
    }
  }
}

/** Compares (time, tail) of two entries of one key. */
export function compareTimeTail(
  aTime: number,
  aTail: Buffer,
  bTime: number,
  bTail: Buffer,
): number {
  return aTime !== bTime ? aTime - bTime : Buffer.compare(aTail, bTail);
}

/** Where (time, tail) is or would go in a list sorted by (time, tail): the first entry not
 * below it. */
function searchTimeTail(list: readonly ResidentEntry[], time: number, tail: Buffer): number {
  let lo = 0;
  let hi = list.length;
  // appends at the end are the common case (time moves forward)
  const last = list[hi - 1];
  if (last !== undefined && compareTimeTail(last.time, last.tail, time, tail) < 0) return hi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = list[mid] as ResidentEntry;
    if (compareTimeTail(e.time, e.tail, time, tail) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function entryBytes(e: SegmentedEntry): number {
  return ENTRY_OVERHEAD_BYTES + e.tail.length + e.value.length;
}
