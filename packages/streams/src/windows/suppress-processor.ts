import { Serdes } from "@tributary/log";
import type { ProcessorKeyValueStore } from "@tributary/state";
import type { Change } from "../runtime/change.js";
import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { StreamRecord } from "../runtime/stream-record.js";
import type { Serde } from "../serdes.js";
import type { Window, Windowed } from "./windowed.js";

/** One buffered window: its key, the first old value and the latest new value, as bytes. */
export interface SuppressedEntry {
  /** windowed key bytes */
  k: Buffer;
  /** latest new value (null: the window was removed, e.g. merged into another session) */
  n: Buffer | null;
  /** the value before buffering started (Kafka's priorValue) */
  p: Buffer | null;
  /** timestamp of the latest update */
  t: number;
}

/*
 * suppression buffer key, ordered so a scan from the start meets windows in closing order:
 *   BufferKey => closesAt:int64 windowedKey:bytes
 */
function bufferKey(closesAt: number, windowedKey: Buffer): Buffer {
  const out = Buffer.allocUnsafe(8 + windowedKey.length);
  out.writeBigInt64BE(BigInt(closesAt), 0);
  windowedKey.copy(out, 8);
  return out;
}

export const suppressBufferValueSerde: Serde<SuppressedEntry> = Serdes.msgpack<SuppressedEntry>();

/**
 * suppress(untilWindowCloses()) (Kafka's KTableSuppressProcessor with a strict buffer):
 * keeps each window's latest update in a change-logged key-value store, keyed by the time
 * the window closes, and forwards it once — a Change of (final value, value before the
 * buffer) — when stream time reaches that time. A window that ends removed (a session
 * merged away) and had nothing before is not forwarded. Because the buffer is a store with
 * a changelog, what was buffered before a restart is still emitted, exactly once.
 */
export class SuppressProcessor<K, V> implements Processor<Windowed<K>, Change<V>> {
  private ctx!: ProcessorContext<Windowed<K>, Change<V>>;
  private buffer!: ProcessorKeyValueStore<Buffer, SuppressedEntry>;
  /** Earliest closing time in the buffer (Infinity when empty). */
  private nextClose = Number.POSITIVE_INFINITY;

  constructor(
    private readonly storeName: string,
    private readonly keySerde: Serde<Windowed<K>>,
    private readonly valueSerde: Serde<V>,
    private readonly closesAt: (window: Window) => number,
  ) {}

  init(context: ProcessorContext<Windowed<K>, Change<V>>): void {
    this.ctx = context;
    this.buffer = context.getStateStore<ProcessorKeyValueStore<Buffer, SuppressedEntry>>(
      this.storeName,
    );
    for (const [k] of this.buffer.all()) {
      this.nextClose = Number(k.readBigInt64BE(0));
      break;
    }
  }

  process(r: StreamRecord<Windowed<K>, Change<V>>): void {
    const closes = this.closesAt(r.key.window);
    const now = this.ctx.streamTime();
    if (closes > now) {
      const kb = this.keySerde.serialize(r.key) as Buffer;
      const bk = bufferKey(closes, kb);
      const prior = this.buffer.get(bk);
      const n = r.value.newValue === null ? null : this.valueSerde.serialize(r.value.newValue);
      const p =
        prior !== undefined
          ? prior.p
          : r.value.oldValue === null
            ? null
            : this.valueSerde.serialize(r.value.oldValue);
      this.buffer.put(bk, { k: kb, n, p, t: r.timestamp });
      if (closes < this.nextClose) this.nextClose = closes;
    }
    // a late update of an already closed window is not emitted again (Kafka drops it too)
    if (now >= this.nextClose) this.emitClosed(now);
  }

  streamTimeAdvanced(now: number): void {
    if (now >= this.nextClose) this.emitClosed(now);
  }

  private emitClosed(now: number): void {
    const done: Buffer[] = [];
    this.nextClose = Number.POSITIVE_INFINITY;
    for (const [k, e] of this.buffer.all()) {
      const closes = Number(k.readBigInt64BE(0));
      if (closes > now) {
        this.nextClose = closes;
        break;
      }
      done.push(k);
      if (e.n === null && e.p === null) continue;
      this.ctx.forward({
        key: this.keySerde.deserialize(Buffer.from(e.k)),
        value: {
          newValue: e.n === null ? null : this.valueSerde.deserialize(Buffer.from(e.n)),
          oldValue: e.p === null ? null : this.valueSerde.deserialize(Buffer.from(e.p)),
        },
        timestamp: e.t,
        headers: {},
      });
    }
    for (const k of done) this.buffer.delete(k);
  }
}
