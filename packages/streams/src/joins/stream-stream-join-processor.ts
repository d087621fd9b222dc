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

  constructor(
    private readonly side: StreamStreamJoinSide,
    private readonly joiner: ValueJoiner<V1 | null, V2 | null, VR>,
  ) {}

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
    if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
    const { left, windows, type } = this.side;
    const t = r.timestamp;
    const now = this.ctx.streamTime();
    if (t + windows.graceMs < now) {
      recordDropped(this.thisStore);
      return;
    }
    this.seq = (this.seq + 1) >>> 0;
    const seq = this.seq;
    this.thisStore.put(r.key, t, { seq, value: r.value });
    const from = left ? t - windows.beforeMs : t - windows.afterMs;
    const to = left ? t + windows.afterMs : t + windows.beforeMs;
    const matches = this.otherStore.fetchRange(r.key, from, to);
    let keyBytes: Buffer | null = null;
    for (const m of matches) {
      if (this.pending !== null) {
        keyBytes ??= this.side.keySerde.serialize(r.key) as Buffer;
        this.pending.delete(pendingKey(m.start, !left, m.value.seq, keyBytes));
      }
      const value = left
        ? this.joiner(r.value as V1, m.value.value as V2)
        : this.joiner(m.value.value as V1, r.value as V2);
      this.ctx.forward({ key: r.key, value, timestamp: Math.max(t, m.start), headers: r.headers });
    }
    const waits = type === "outer" || (type === "left" && left);
    if (matches.length === 0 && waits && this.pending !== null) {
      keyBytes ??= this.side.keySerde.serialize(r.key) as Buffer;
      const held = this.side.bufferSerde?.serialize({ seq, value: r.value }) ?? Buffer.alloc(0);
      this.pending.put(pendingKey(t, left, seq, keyBytes), held);
      if (t < (earliestPending.get(this.pending) ?? Number.POSITIVE_INFINITY)) {
        earliestPending.set(this.pending, t);
      }
    }
    if (this.pending !== null) this.emitUnmatched(now);
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
