import type { RecordHeaders } from "@tributary/log";
import type { Change } from "../runtime/change.js";
import type { ProcessorSessionStore } from "@tributary/state";
import { type SessionRecordCachingStore, sessionRecordCache } from "../operators/record-cache.js";
import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { StreamRecord } from "../runtime/stream-record.js";
import { recordDropped } from "./dropped-records.js";
import type { SessionWindows } from "./session-windows.js";
import type { Windowed } from "./windowed.js";

/**
 * count/reduce/aggregate over SessionWindows (Kafka's KStreamSessionWindowAggregate): the
 * record's session is [t, t], merged with every session of the key within the inactivity
 * gap (a record bridging two sessions merges both). The merged sessions are removed — a
 * change with a null new value is forwarded for each — and the merged one is stored and
 * forwarded. A record whose merged session ends before stream time - grace is dropped and
 * counted. Session window ends are inclusive.
 *
 * When the store has a record cache (the worker's `cacheMaxBytes` > 0) each session's
 * change goes downstream when the cache flushes, once per session (a session created and
 * merged away in between never), as Kafka's caching session stores do; not when the
 * table is suppressed (`everyUpdate`), nor in the test driver, whose stores have none.
 */
export class SessionWindowAggregateProcessor<K, V, A>
  implements Processor<K, V, Windowed<K>, Change<A>>
{
  private ctx!: ProcessorContext<Windowed<K>, Change<A>>;
  private store!: ProcessorSessionStore<K, A>;
  private cache: SessionRecordCachingStore<K, A> | null = null;

  constructor(
    private readonly storeName: string,
    private readonly windows: SessionWindows,
    private readonly initializer: () => A,
    private readonly aggregator: (key: K, value: V, aggregate: A) => A,
    private readonly merger: (key: K, left: A, right: A) => A,
    private readonly everyUpdate = false,
  ) {}

  init(context: ProcessorContext<Windowed<K>, Change<A>>): void {
    this.ctx = context;
    this.store = context.getStateStore<ProcessorSessionStore<K, A>>(this.storeName);
    if (!this.everyUpdate) {
      this.cache = sessionRecordCache<K, A>(this.store, (key, start, end, change, ts, headers) =>
        this.emit(key, start, end, change, ts, headers),
      );
    }
  }

  process(r: StreamRecord<K, V>): void {
    if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
    const t = r.timestamp;
    const gap = this.windows.inactivityGapMs;
    const overlapping = this.store.findSessions(r.key, t - gap, t + gap);
    let start = t;
    let end = t;
    let agg = this.initializer();
    for (const s of overlapping) {
      if (s.start < start) start = s.start;
      if (s.end > end) end = s.end;
      agg = this.merger(r.key, agg, s.value);
    }
    if (end + 1 + this.windows.graceMs <= this.ctx.streamTime()) {
      recordDropped(this.store);
      return;
    }
    agg = this.aggregator(r.key, r.value, agg);
    let old: A | null = null;
    for (const s of overlapping) {
      if (s.start === start && s.end === end) {
        old = s.value;
        continue;
      }
      if (this.cache !== null) {
        this.cache.putCached(r.key, s.start, s.end, null, s.value, r.timestamp, r.headers);
        continue;
      }
      this.store.remove(r.key, s.start, s.end);
      const removed = { newValue: null, oldValue: s.value };
      this.emit(r.key, s.start, s.end, removed, r.timestamp, r.headers);
    }
    if (this.cache !== null) {
      this.cache.putCached(r.key, start, end, agg, old, r.timestamp, r.headers);
      return;
    }
    this.store.put(r.key, start, end, agg);
    this.emit(r.key, start, end, { newValue: agg, oldValue: old }, r.timestamp, r.headers);
  }

  private emit(
    key: K,
    start: number,
    end: number,
    value: Change<A>,
    timestamp: number,
    headers: RecordHeaders,
  ): void {
    this.ctx.forward({ key: { key, window: { start, end } }, value, timestamp, headers });
  }
}
