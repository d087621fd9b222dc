import type { RecordHeaders } from "@tributary/log";
import type { ProcessorWindowStore } from "@tributary/state";
import { type WindowRecordCachingStore, windowRecordCache } from "../operators/record-cache.js";
import type { Change } from "../runtime/change.js";
import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { StreamRecord } from "../runtime/stream-record.js";
import { recordDropped } from "./dropped-records.js";
import type { SlidingWindows } from "./sliding-windows.js";
import type { Windowed } from "./windowed.js";

/**
 * count/reduce/aggregate over SlidingWindows. The windows are Kafka's: for each record at
 * p, [p - d, p] and, when it holds records, [p + 1, p + 1 + d] (ends inclusive). A record
 * at t changes exactly the windows that contain it — the one ending at t, those ending at
 * the records in (t, t + d], those starting after the records in [t - d - 1, t) — and may
 * create the window just after it. Unlike Kafka's KStreamSlidingWindowAggregate, which
 * derives new windows from neighbouring aggregates, this keeps the key's raw records
 * (a second window store with duplicates, retention 2d + grace) and refolds each changed
 * window from them: simpler to prove, and the aggregator needs no merger. It costs
 * O(records per key within 2d) per record.
 *
 * A record whose own window [t - d, t] has closed (t + 1 + grace <= stream time) is
 * dropped and counted; otherwise only windows still open are updated.
 *
 * With the store's record cache (the worker's `cacheMaxBytes` > 0) each window's change
 * goes downstream when the cache flushes, once per window, instead of once per update
 * (Kafka's caching sliding-window aggregates: the same final results, intermediate
 * updates collapsed); not when the table is suppressed (`everyUpdate`), nor in the test
 * driver, whose stores have none.
 */
export class SlidingWindowAggregateProcessor<K, V, A>
  implements Processor<K, V, Windowed<K>, Change<A>>
{
  private ctx!: ProcessorContext<Windowed<K>, Change<A>>;
  private store!: ProcessorWindowStore<K, A>;
  private records!: ProcessorWindowStore<K, V>;
  private cache: WindowRecordCachingStore<K, A> | null = null;

  constructor(
    private readonly storeName: string,
    private readonly recordsStoreName: string,
    private readonly windows: SlidingWindows,
    private readonly fold: (key: K, value: V, current: A | undefined) => A,
    private readonly everyUpdate = false,
  ) {}

  init(context: ProcessorContext<Windowed<K>, Change<A>>): void {
    this.ctx = context;
    this.store = context.getStateStore<ProcessorWindowStore<K, A>>(this.storeName);
    this.records = context.getStateStore<ProcessorWindowStore<K, V>>(this.recordsStoreName);
    if (!this.everyUpdate) {
      this.cache = windowRecordCache<K, A>(this.store, (key, start, change, timestamp, headers) =>
        this.emit(key, start, change, timestamp, headers),
      );
    }
  }

  process(r: StreamRecord<K, V>): void {
    if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
    const t = r.timestamp;
    const d = this.windows.timeDifferenceMs;
    const now = this.ctx.streamTime();
    if (this.windows.closesAt(t) <= now) {
      recordDropped(this.store);
      return;
    }
    const key = r.key;
    const neighbours = this.records.fetchRange(key, t - d - 1, t + d + 1);
    this.records.put(key, t, r.value);
    const starts = new Set<number>([t - d, t + 1]);
    for (const p of neighbours) {
      if (p.start > t && p.start <= t + d) starts.add(p.start - d);
      if (p.start < t && p.start >= t - d - 1) starts.add(p.start + 1);
    }
    const all = this.records.fetchRange(key, t - 2 * d - 1, t + 2 * d + 1);
    for (const start of [...starts].sort((a, b) => a - b)) {
      if (start < 0) continue;
      const end = start + d;
      if (this.windows.closesAt(end) <= now) continue;
      let agg: A | undefined;
      let any = false;
      for (const p of all) {
        if (p.start < start || p.start > end) continue;
        agg = this.fold(key, p.value, agg);
        any = true;
      }
      if (!any) continue;
      const old = this.store.fetch(key, start);
      const holdsT = start <= t && t <= end;
      if (!holdsT && old !== null) continue; // the window after t existed already, unchanged
      if (this.cache !== null) {
        this.cache.putCached(key, start, agg as A, old, r.timestamp, r.headers);
        continue;
      }
      this.store.put(key, start, agg as A);
      this.emit(key, start, { newValue: agg as A, oldValue: old }, r.timestamp, r.headers);
    }
  }

  private emit(
    key: K,
    start: number,
    value: Change<A>,
    timestamp: number,
    headers: RecordHeaders,
  ): void {
    const end = start + this.windows.timeDifferenceMs;
    this.ctx.forward({ key: { key, window: { start, end } }, value, timestamp, headers });
  }
}
