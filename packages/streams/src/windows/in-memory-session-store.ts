import type { Serde } from "../serdes.js";
import type { ReadableSessionStore, SessionStoreEntry } from "./window-store.js";

/*
 * session changelog record key, as the test driver logs an in-memory session store:
 *   SessionChangelogKey => start:int64 end:int64 key:bytes
 */
export function sessionChangelogKey(start: number, end: number, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(16 + key.length);
  out.writeBigInt64BE(BigInt(start), 0);
  out.writeBigInt64BE(BigInt(end), 8);
  key.copy(out, 16);
  return out;
}

interface Session {
  start: number;
  end: number;
  value: Buffer;
}

/**
 * A session store in memory, for the test driver: per key the sessions sorted by end.
 * Retention counts from a session's end: sessions ending at or below the largest end put
 * minus the retention are gone.
 */
export class InMemorySessionStore<K, V> implements ReadableSessionStore<K, V> {
  private readonly byKey = new Map<string, Session[]>();
  private observed = -1;
  /** Told each change as a changelog record; the test driver sets it. */
  changeLogger: ((key: Buffer, value: Buffer | null) => void) | null = null;

  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    readonly retentionMs: number,
  ) {}

  put(key: K, start: number, end: number, value: V): boolean {
    if (end > this.observed) this.observed = end;
    if (end <= this.observed - this.retentionMs) return false;
    const k = this.keyString(key);
    let list = this.byKey.get(k);
    if (list === undefined) {
      list = [];
      this.byKey.set(k, list);
    }
    const bytes = this.valueSerde.serialize(value) as Buffer;
    this.changeLogger?.(sessionChangelogKey(start, end, Buffer.from(k, "latin1")), bytes);
    const i = list.findIndex((s) => s.start === start && s.end === end);
    if (i >= 0) {
      (list[i] as Session).value = bytes;
      return true;
    }
    let at = list.length;
    while (at > 0 && (list[at - 1] as Session).end > end) at--;
    list.splice(at, 0, { start, end, value: bytes });
    // expired sessions of this key go as it is touched
    const low = this.observed - this.retentionMs;
    let n = 0;
    while (n < list.length && (list[n] as Session).end <= low) n++;
    if (n > 0) list.splice(0, n);
    return true;
  }

  remove(key: K, start: number, end: number): void {
    const k = this.keyString(key);
    this.changeLogger?.(sessionChangelogKey(start, end, Buffer.from(k, "latin1")), null);
    const list = this.byKey.get(k);
    if (list === undefined) return;
    const i = list.findIndex((s) => s.start === start && s.end === end);
    if (i >= 0) list.splice(i, 1);
  }

  findSessions(key: K, earliestEnd: number, latestStart: number): SessionStoreEntry<K, V>[] {
    const list = this.byKey.get(this.keyString(key));
    const out: SessionStoreEntry<K, V>[] = [];
    if (list === undefined) return out;
    const low = Math.max(earliestEnd, this.observed - this.retentionMs + 1);
    for (const s of list) {
      if (s.end >= low && s.start <= latestStart) {
        out.push({ key, start: s.start, end: s.end, value: this.valueSerde.deserialize(s.value) });
      }
    }
    return out;
  }

  all(): SessionStoreEntry<K, V>[] {
    const out: SessionStoreEntry<K, V>[] = [];
    for (const k of [...this.byKey.keys()].sort()) {
      const key = this.keySerde.deserialize(Buffer.from(k, "latin1"));
      for (const s of this.findSessions(key, 0, Number.MAX_SAFE_INTEGER)) out.push(s);
    }
    return out;
  }

  /** Applies one changelog record (restore). */
  restore(changelogKey: Buffer, value: Buffer | null): void {
    const start = Number(changelogKey.readBigInt64BE(0));
    const end = Number(changelogKey.readBigInt64BE(8));
    const key = this.keySerde.deserialize(changelogKey.subarray(16));
    const logger = this.changeLogger;
    this.changeLogger = null;
    if (value === null) this.remove(key, start, end);
    else this.put(key, start, end, this.valueSerde.deserialize(value));
    this.changeLogger = logger;
  }

  prefetch(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}

  private keyString(key: K): string {
    const b = this.keySerde.serialize(key);
    if (b === null) throw new TypeError(`session store '${this.name}' cannot hold a null key`);
    return b.toString("latin1");
  }
}
