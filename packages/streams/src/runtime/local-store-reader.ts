import {
  type KeyValueBytesStore,
  type KeyValueEntry,
  SegmentedBytesStore,
  SessionStore,
  KeyValueStore as StateKeyValueStore,
  WindowStore,
} from "@tributary/state";
import { QueryError } from "../errors.js";
import type { StoreSpec } from "../topology/node-spec.js";
import { retentionOf, type RuntimeStore } from "./store-factory.js";

/** One stored entry as a query reads it: key and value bytes, and a window's times. */
export interface ReadEntry {
  k: Buffer;
  v: Buffer;
  /** Window store: the window's start; session store: the session's start. */
  start?: number;
  /** Session store: the session's end. */
  end?: number;
}

export interface ReadResult {
  entries: ReadEntry[];
  truncated: boolean;
}

/**
 * Reads one task's store for a query without disturbing the task: only through the byte
 * layer's `range`, which sees every put so far (cache included) and leaves the batch
 * prefetch alone (a `prefetch` from here would make the task's next synchronous read
 * miss); a point read is the byte layer's `lookup`, which sees the same.
 *
 * Window and session stores are read per time segment, in the layout of
 * @tributary/state's SegmentedBytesStore (its grammar block):
 *   SegmentedKey => segment:int64 keyLength:uint32 key:bytes time:int64 tail:bytes
 * (window: time = start; session: time = end, tail = start:int64).
 */
export class LocalStoreReader {
  private readonly kv: KeyValueBytesStore | null;
  private readonly segments: SegmentedBytesStore | null;

  constructor(
    readonly spec: StoreSpec,
    store: RuntimeStore | { standby: KeyValueBytesStore; segments: SegmentedBytesStore | null },
  ) {
    if ("standby" in store) {
      this.kv = store.segments === null ? store.standby : null;
      this.segments = store.segments;
      return;
    }
    const inner = (store as { inner?: unknown }).inner;
    const state = (store as { state?: unknown }).state;
    this.kv = inner instanceof StateKeyValueStore ? inner.bytes : null;
    this.segments =
      state instanceof WindowStore || state instanceof SessionStore ? state.segments : null;
    if (this.kv === null && this.segments === null) {
      throw new QueryError(
        "QUERY_FAILED",
        `store '${spec.name}' (${spec.type}) cannot be read by queries on this worker`,
      );
    }
  }

  /**
   * A reader of a standby copy's bytes (standby-task.ts). Window and session stores get
   * their segmented layout over it, with the newest time recovered from the data now:
   * the copy grows under it, so each stale read takes a fresh one.
   */
  static async ofStandby(spec: StoreSpec, bytes: KeyValueBytesStore): Promise<LocalStoreReader> {
    if (spec.type === "key-value")
      return new LocalStoreReader(spec, { standby: bytes, segments: null });
    const segments = new SegmentedBytesStore(bytes, { retentionMs: retentionOf(spec) });
    await segments.init();
    return new LocalStoreReader(spec, { standby: bytes, segments });
  }

  /** One key: a point lookup through the layers (no iterator, no overlay merge). */
  async get(key: Buffer): Promise<ReadResult> {
    if (this.kv === null) return this.segmentedOnlyForKeyValue();
    const v = await this.kv.lookup(key);
    return {
      entries: v === null ? [] : [{ k: Buffer.from(key), v: Buffer.from(v) }],
      truncated: false,
    };
  }

  /** from <= key <= to (either open when absent), in key-byte order. */
  async range(
    from: Buffer | undefined,
    to: Buffer | undefined,
    limit: number,
  ): Promise<ReadResult> {
    return this.scan(
      {
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to: successor(to) }),
      },
      limit,
    );
  }

  /** One key's windows (start in [timeFrom, timeTo]) or sessions (end >= timeFrom, start
   * <= timeTo), by time. */
  async fetch(key: Buffer, timeFrom: number, timeTo: number, limit: number): Promise<ReadResult> {
    const s = this.segmentedOnly("fetch");
    const session = this.spec.type === "session";
    const low = Math.max(timeFrom, s.expiryLine + 1, 0);
    const high = session ? s.observedTime : Math.min(timeTo, s.observedTime);
    const out: ReadEntry[] = [];
    if (high < low) return { entries: out, truncated: false };
    const interval = s.segmentIntervalMs;
    for (let seg = Math.floor(low / interval); seg <= Math.floor(high / interval); seg++) {
      const from = segmentedKey(seg, key, Math.max(low, seg * interval));
      const to = segmentedKey(seg, key, Math.min(high, (seg + 1) * interval - 1) + 1);
      for await (const e of s.bytes.range({ from, to })) {
        const entry = this.timed(e);
        if (session && (entry.start ?? 0) > timeTo) continue;
        if (out.length >= limit) return { entries: out, truncated: true };
        out.push(entry);
      }
    }
    return { entries: out, truncated: false };
  }

  /** Every entry (window and session stores: time within the bounds), in key-byte order
   * then time. */
  async all(timeFrom: number, timeTo: number, limit: number): Promise<ReadResult> {
    if (this.kv !== null) return this.scan({}, limit);
    const s = this.segments!;
    const low = Math.max(timeFrom, s.expiryLine + 1, 0);
    const high = Math.min(timeTo, s.observedTime);
    const out: ReadEntry[] = [];
    let truncated = false;
    if (high >= low) {
      const interval = s.segmentIntervalMs;
      const from = segmentPrefix(Math.floor(low / interval));
      const to = segmentPrefix(Math.floor(high / interval) + 1);
      for await (const e of s.bytes.range({ from, to })) {
        const time = timeOf(e.key);
        if (time < low || time > high) continue;
        if (out.length >= limit) {
          truncated = true;
          break;
        }
        out.push(this.timed(e));
      }
    }
    // segments come first in the layout: order by key across them
    out.sort((a, b) => Buffer.compare(a.k, b.k) || (a.start ?? 0) - (b.start ?? 0));
    return { entries: out, truncated };
  }

  private async scan(range: { from?: Buffer; to?: Buffer }, limit: number): Promise<ReadResult> {
    const kv = this.kv;
    if (kv === null) return this.segmentedOnlyForKeyValue();
    const entries: ReadEntry[] = [];
    for await (const e of kv.range(range)) {
      if (entries.length >= limit) return { entries, truncated: true };
      entries.push({ k: Buffer.from(e.key), v: Buffer.from(e.value) });
    }
    return { entries, truncated: false };
  }

  private timed(e: KeyValueEntry): ReadEntry {
    const len = e.key.readUInt32BE(8);
    const k = Buffer.from(e.key.subarray(12, 12 + len));
    const time = Number(e.key.readBigInt64BE(12 + len));
    const v = Buffer.from(e.value);
    if (this.spec.type !== "session") return { k, v, start: time };
    return { k, v, start: Number(e.key.readBigInt64BE(12 + len + 8)), end: time };
  }

  private segmentedOnly(op: string): SegmentedBytesStore {
    if (this.segments === null) {
      throw new QueryError(
        "BAD_REQUEST",
        `'${op}' reads a window or session store, and '${this.spec.name}' is a key-value store: use get, range or all`,
      );
    }
    return this.segments;
  }

  private segmentedOnlyForKeyValue(): never {
    throw new QueryError(
      "BAD_REQUEST",
      `'${this.spec.name}' is a ${this.spec.type} store: read a key with fetch (and time bounds), or all`,
    );
  }
}

/** The least byte string greater than `key`: [key, successor) holds only key. */
function successor(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.alloc(1)]);
}

function segmentPrefix(segment: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigInt64BE(BigInt(segment), 0);
  return out;
}

function segmentedKey(segment: number, key: Buffer, time: number): Buffer {
  const out = Buffer.allocUnsafe(12 + key.length + 8);
  out.writeBigInt64BE(BigInt(segment), 0);
  out.writeUInt32BE(key.length, 8);
  key.copy(out, 12);
  out.writeBigInt64BE(BigInt(time), 12 + key.length);
  return out;
}

function timeOf(segmentedKeyBytes: Buffer): number {
  const len = segmentedKeyBytes.readUInt32BE(8);
  return Number(segmentedKeyBytes.readBigInt64BE(12 + len));
}
