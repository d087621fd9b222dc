import type { Serde } from "../serdes.js";
import type { ReadableWindowStore, WindowStoreEntry } from "./window-store.js";

/*
 * window changelog record key, as the test driver logs an in-memory window store:
 *   WindowChangelogKey => start:int64 seq:uint32 key:bytes
 */
export function windowChangelogKey(start: number, seq: number, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(12 + key.length);
  out.writeBigInt64BE(BigInt(start), 0);
  out.writeUInt32BE(seq >>> 0, 8);
  key.copy(out, 12);
  return out;
}

interface Slot {
  start: number;
  seq: number;
  value: Buffer;
}

/**
 * A window store in memory, for the test driver: per key (by its bytes) the windows
 * sorted by start, values held serialized. Retention as the persistent store: the largest
 * start put is the observed time; puts at or below observed - retention are refused and
 * older windows are dropped as time moves.
 */
export class InMemoryWindowStore<K, V> implements ReadableWindowStore<K, V> {
  private readonly byKey = new Map<string, Slot[]>();
  private observed = -1;
  private seq = 0;
  private lastPurge = -1;
  /** Told each change as a changelog record (see windowChangelogKey); the driver sets it. */
  changeLogger: ((key: Buffer, value: Buffer | null) => void) | null = null;

  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    readonly retentionMs: number,
    private readonly retainDuplicates: boolean,
  ) {}

  put(key: K, windowStart: number, value: V | null): boolean {
    if (windowStart > this.observed) this.observed = windowStart;
    if (windowStart <= this.observed - this.retentionMs) return false;
    const k = this.keyString(key);
    let slots = this.byKey.get(k);
    const bytes = value === null ? null : this.valueSerde.serialize(value);
    if (slots === undefined) {
      if (bytes === null) return true;
      slots = [];
      this.byKey.set(k, slots);
    }
    let lo = 0;
    let hi = slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((slots[mid] as Slot).start <= windowStart) lo = mid + 1;
      else hi = mid;
    }
    // lo: first slot after every slot with this start
    if (this.retainDuplicates) {
      if (bytes !== null) {
        const seq = this.seq++;
        slots.splice(lo, 0, { start: windowStart, seq, value: bytes });
        this.changeLogger?.(windowChangelogKey(windowStart, seq, Buffer.from(k, "latin1")), bytes);
      }
    } else {
      this.changeLogger?.(windowChangelogKey(windowStart, 0, Buffer.from(k, "latin1")), bytes);
      const same = lo > 0 && (slots[lo - 1] as Slot).start === windowStart;
      if (bytes === null) {
        if (same) slots.splice(lo - 1, 1);
      } else if (same) (slots[lo - 1] as Slot).value = bytes;
      else slots.splice(lo, 0, { start: windowStart, seq: 0, value: bytes });
    }
    this.purge();
    return true;
  }

  fetch(key: K, windowStart: number): V | null {
    const found = this.fetchRange(key, windowStart, windowStart);
    return found.length === 0 ? null : (found[found.length - 1] as WindowStoreEntry<K, V>).value;
  }

  fetchRange(key: K, from: number, to: number): WindowStoreEntry<K, V>[] {
    const slots = this.byKey.get(this.keyString(key));
    const out: WindowStoreEntry<K, V>[] = [];
    if (slots === undefined) return out;
    const low = Math.max(from, this.observed - this.retentionMs + 1);
    for (const s of slots) {
      if (s.start > to) break;
      if (s.start >= low)
        out.push({ key, start: s.start, value: this.valueSerde.deserialize(s.value) });
    }
    return out;
  }

  /** Every live window, by key bytes then start. */
  all(): WindowStoreEntry<K, V>[] {
    const out: WindowStoreEntry<K, V>[] = [];
    const low = this.observed - this.retentionMs + 1;
    for (const k of [...this.byKey.keys()].sort()) {
      const key = this.keySerde.deserialize(Buffer.from(k, "latin1"));
      for (const s of this.byKey.get(k) as Slot[]) {
        if (s.start >= low)
          out.push({ key, start: s.start, value: this.valueSerde.deserialize(s.value) });
      }
    }
    return out;
  }

  /** Applies one changelog record (restore). */
  restore(changelogKey: Buffer, value: Buffer | null): void {
    const start = Number(changelogKey.readBigInt64BE(0));
    const seq = changelogKey.readUInt32BE(8);
    const key = this.keySerde.deserialize(changelogKey.subarray(12));
    const logger = this.changeLogger;
    this.changeLogger = null;
    if (this.retainDuplicates) {
      if (value !== null) {
        this.seq = Math.max(this.seq, seq);
        this.put(key, start, this.valueSerde.deserialize(value));
      }
    } else this.put(key, start, value === null ? null : this.valueSerde.deserialize(value));
    this.changeLogger = logger;
  }

  prefetch(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}

  /** Drops expired windows once per retention period of progress (amortized). */
  private purge(): void {
    if (this.observed - this.lastPurge < this.retentionMs) return;
    this.lastPurge = this.observed;
    const low = this.observed - this.retentionMs + 1;
    for (const [k, slots] of this.byKey) {
      let n = 0;
      while (n < slots.length && (slots[n] as Slot).start < low) n++;
      if (n === slots.length) this.byKey.delete(k);
      else if (n > 0) slots.splice(0, n);
    }
  }

  private keyString(key: K): string {
    const b = this.keySerde.serialize(key);
    if (b === null) throw new TypeError(`window store '${this.name}' cannot hold a null key`);
    return b.toString("latin1");
  }
}
