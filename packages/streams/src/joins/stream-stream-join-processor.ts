import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { ProcessorKeyValueStore, ProcessorWindowStore } from "@tributary/state";
import type { StreamRecord } from "../runtime/stream-record.js";
import type { Serde } from "../serdes.js";
import { recordDropped } from "../windows/dropped-records.js";
import type { JoinWindows } from "../windows/join-windows.js";
import type { Buffered } from "./join-buffer-serde.js";
import { decodePendingKey, pendingKey } from "./join-buffer-serde.js";
import type { JoinType, ValueJoiner } from "./join-type.js";

/** Earliest pending timestamp per pending store, shared by a join's two sides. */
const earliestPending = new WeakMap<object, number>();

export interface StreamStreamJoinSide {
  /** This processor handles the left stream's records. */
  left: boolean;
  thisStore: string;
  otherStore: string;
  /** The outer-join store of unmatched records; null for inner joins. */
  pendingStore: string | null;
  type: JoinType;
  windows: JoinWindows;
  keySerde: Serde<unknown>;
  /**
   * This side's buffer value serde: with it, a pending record keeps its value in the
   * pending store, so emitting it never reads the window store for a key the runtime did
   * not prefetch for the current batch (a persistent store can only answer those).
   */
  bufferSerde?: Serde<Buffered<unknown>>;
  otherBufferSerde?: Serde<Buffered<unknown>>;
}

/**
 * One side of a stream-stream join (Kafka's KStreamKStreamJoin, with the KIP-633 /
 * KAFKA-10847 fix): buffers the record in its side's window store, joins it with the
 * other side's records inside the join window — a left record at t with right records at
 * [t - before, t + after] — and forwards each pair at the later of the two timestamps.
 *
 * Left/outer joins do not emit an unmatched record at once (that was Kafka's spurious
 * result): it waits in the pending store until no partner can arrive — left at t once
 * t + after + grace < stream time, right at u once u + before + grace < stream time —
 * and is forwarded with a null partner then, unless a partner came first. A record older
 * than stream time - grace is dropped and counted.
 */
export class StreamStreamJoinProcessor<K, V1, V2, VR> implements Processor<K, unknown, K, VR> {
  private ctx!: ProcessorContext<K, VR>;
  private thisStore!: ProcessorWindowStore<K, Buffered<unknown>>;
  private otherStore!: ProcessorWindowStore<K, Buffered<unknown>>;
  private pending: ProcessorKeyValueStore<Buffer, Buffer> | null = null;
  private seq = (Date.now() * 1000) >>> 0;
  // the side's settings, read once: process() runs per record
  private readonly left: boolean;
  private readonly graceMs: number;
  /** The other side's partners of a record at t are at [t - lowMs, t + highMs]. */
  private readonly lowMs: number;
  private readonly highMs: number;
  /** An unmatched record of this side waits for its window to close (left/outer joins). */
  private readonly waits: boolean;

  constructor(
    private readonly side: StreamStreamJoinSide,
    private readonly joiner: ValueJoiner<V1 | null, V2 | null, VR>,
  ) {
    const { left, windows, type } = side;
    this.left = left;
    this.graceMs = windows.graceMs;
    this.lowMs = left ? windows.beforeMs : windows.afterMs;
    this.highMs = left ? windows.afterMs : windows.beforeMs;
    this.waits = type === "outer" || (type === "left" && left);
  }

  init(context: ProcessorContext<K, VR>): void {
    this.ctx = context;
    this.thisStore = context.getStateStore(this.side.thisStore);
    this.otherStore = context.getStateStore(this.side.otherStore);
    if (this.side.pendingStore !== null) {
      const pending = context.getStateStore<ProcessorKeyValueStore<Buffer, Buffer>>(
        this.side.pendingStore,
      );
      this.pending = pending;
      if (!earliestPending.has(pending)) {
        let first = Number.POSITIVE_INFINITY;
        for (const [k] of pending.all()) {
          first = decodePendingKey(k).timestamp;
          break;
        }
        earliestPending.set(pending, first);
      }
    }
  }

  process(r: StreamRecord<K, unknown>): void {
    const key = r.key;
    const value = r.value;
    if (key === null || key === undefined || value === null || value === undefined) return;
    const t = r.timestamp;
    const now = this.ctx.streamTime();
    if (t + this.graceMs < now) {
      recordDropped(this.thisStore);
      return;
    }
    const left = this.left;
    this.seq = (this.seq + 1) >>> 0;
    const seq = this.seq;
    // frozen when its value cannot change either: the buffer then keeps this very object
    // for the partners' fetches instead of decoding it from its bytes per fetch
    const buffered = { seq, value };
    this.thisStore.put(key, t, typeof value === "object" ? buffered : Object.freeze(buffered));
    const matches = this.otherStore.fetchRange(key, t - this.lowMs, t + this.highMs);
    const pending = this.pending;
    let keyBytes: Buffer | null = null;
    for (let i = 0; i < matches.length; i++) {
      const m = matches[i] as { start: number; value: Buffered<unknown> };
      if (pending !== null) {
        keyBytes ??= this.side.keySerde.serialize(key) as Buffer;
        pending.delete(pendingKey(m.start, !left, m.value.seq, keyBytes));
      }
      const joined = left
        ? this.joiner(value as V1, m.value.value as V2)
        : this.joiner(m.value.value as V1, value as V2);
      this.ctx.forward({
        key,
        value: joined,
        timestamp: Math.max(t, m.start),
        headers: r.headers,
      });
    }
    if (pending === null) return;
    if (matches.length === 0 && this.waits) {
      keyBytes ??= this.side.keySerde.serialize(key) as Buffer;
      const held = this.side.bufferSerde?.serialize({ seq, value }) ?? Buffer.alloc(0);
      pending.put(pendingKey(t, left, seq, keyBytes), held);
      if (t < (earliestPending.get(pending) ?? Number.POSITIVE_INFINITY)) {
        earliestPending.set(pending, t);
      }
    }
    this.emitUnmatched(now);
  }

  private emitUnmatched(now: number): void {
    const pending = this.pending as ProcessorKeyValueStore<Buffer, Buffer>;
    const { windows } = this.side;
    const waitMs = Math.min(windows.afterMs, windows.beforeMs) + windows.graceMs;
    const first = earliestPending.get(pending) ?? Number.POSITIVE_INFINITY;
    if (!(first + waitMs < now)) return;
    const done: Buffer[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [k, held] of pending.all()) {
      const p = decodePendingKey(k);
      if (p.timestamp + waitMs >= now) {
        next = p.timestamp;
        break;
      }
      const closes = p.timestamp + (p.left ? windows.afterMs : windows.beforeMs) + windows.graceMs;
      if (closes >= now) {
        next = Math.min(next, p.timestamp);
        continue;
      }
      done.push(k);
      const key = this.side.keySerde.deserialize(Buffer.from(p.key)) as K;
      const rec = this.heldRecord(p.left, key, p.timestamp, k.readUInt32BE(9), held);
      if (rec === undefined) continue; // expired from the buffer: nothing left to emit
      const value = p.left
        ? this.joiner(rec.value.value as V1, null)
        : this.joiner(null, rec.value.value as V2);
      this.ctx.forward({ key, value, timestamp: p.timestamp, headers: {} });
    }
    for (const k of done) pending.delete(k);
    earliestPending.set(pending, next);
  }

  /** The pending record's buffered value: kept beside it, or (test driver) in its buffer. */
  private heldRecord(
    left: boolean,
    key: K,
    timestamp: number,
    seq: number,
    held: Buffer,
  ): { value: Buffered<unknown> } | undefined {
    const serde = left === this.side.left ? this.side.bufferSerde : this.side.otherBufferSerde;
    if (held.length > 0 && serde !== undefined) return { value: serde.deserialize(held) };
    return this.sideStore(left)
      .fetchRange(key, timestamp, timestamp)
      .find((e) => e.value.seq === seq);
  }

  private sideStore(left: boolean): ProcessorWindowStore<K, Buffered<unknown>> {
    return left === this.side.left ? this.thisStore : this.otherStore;
  }
}
