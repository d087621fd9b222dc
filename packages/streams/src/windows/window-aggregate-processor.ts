import type { RecordHeaders } from "@tributary/log";
import type { Change } from "../runtime/change.js";
import type { ProcessorWindowStore } from "@tributary/state";
import { type WindowRecordCachingStore, windowRecordCache } from "../operators/record-cache.js";
import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { StreamRecord } from "../runtime/stream-record.js";
import { recordDropped } from "./dropped-records.js";
import type { TimeWindows } from "./time-windows.js";
import type { Windowed } from "./windowed.js";

/**
 * count/reduce/aggregate over TimeWindows (Kafka's KStreamWindowAggregate): folds the
 * record into every window holding its timestamp that is still open (end + grace > stream
 * time) and forwards each window's update as a change of a Windowed key. Each closed
 * window the record would have landed in counts one dropped record, as in Kafka. Null
 * keys and values are skipped.
 *
 * When the store has a record cache (the worker's `cacheMaxBytes` > 0) each window's
 * change goes downstream when the cache flushes, once per window, instead of once per
 * record (Kafka's caching windowed aggregates); not when the table is suppressed
 * (`everyUpdate`), nor in the test driver, whose stores have none.
 */
export class WindowAggregateProcessor<K, V, A> implements Processor<K, V, Windowed<K>, Change<A>> {
  private ctx!: ProcessorContext<Windowed<K>, Change<A>>;
  private store!: ProcessorWindowStore<K, A>;
  private cache: WindowRecordCachingStore<K, A> | null = null;

  constructor(
    private readonly storeName: string,
    private readonly windows: TimeWindows,
    private readonly fold: (key: K, value: V, current: A | undefined) => A,
    private readonly everyUpdate = false,
  ) {}

  init(context: ProcessorContext<Windowed<K>, Change<A>>): void {
    this.ctx = context;
    this.store = context.getStateStore<ProcessorWindowStore<K, A>>(this.storeName);
    if (!this.everyUpdate) {
      this.cache = windowRecordCache<K, A>(this.store, (key, start, change, timestamp, headers) =>
        this.emit(key, start, change, timestamp, headers),
      );
    }
  }

  process(r: StreamRecord<K, V>): void {
    if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
    const now = this.ctx.streamTime();
    const w = this.windows;
    if (w.advanceMs === w.sizeMs) {
      // tumbling: one window, without the array of starts
      this.update(r, r.timestamp - (r.timestamp % w.sizeMs), now);
      return;
    }
    for (const start of w.windowStartsFor(r.timestamp)) this.update(r, start, now);
  }

  /** Folds the record into the window starting at `start`, or counts it dropped. */
  private update(r: StreamRecord<K, V>, start: number, now: number): void {
    if (this.windows.closesAt(start) <= now) {
      recordDropped(this.store);
      return;
    }
    const key = r.key as K;
    const old = this.store.fetch(key, start);
    const next = this.fold(key, r.value as V, old ?? undefined);
    if (this.cache !== null) {
      this.cache.putCached(key, start, next, old, r.timestamp, r.headers);
      return;
    }
    this.store.put(key, start, next);
    this.emit(key, start, { newValue: next, oldValue: old }, r.timestamp, r.headers);
  }

  private emit(
    key: K,
    start: number,
    value: Change<A>,
    timestamp: number,
    headers: RecordHeaders,
  ): void {
    this.ctx.forward({
      key: { key, window: { start, end: start + this.windows.sizeMs } },
      value,
      timestamp,
      headers,
    });
  }
}
