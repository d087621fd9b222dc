import type { Change } from "../runtime/change.js";
import type { ProcessorSessionStore } from "@tributary/state";
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
 */
export class SessionWindowAggregateProcessor<K, V, A>
  implements Processor<K, V, Windowed<K>, Change<A>>
{
  private ctx!: ProcessorContext<Windowed<K>, Change<A>>;
  private store!: ProcessorSessionStore<K, A>;

  constructor(
    private readonly storeName: string,
    private readonly windows: SessionWindows,
    private readonly initializer: () => A,
    private readonly aggregator: (key: K, value: V, aggregate: A) => A,
    private readonly merger: (key: K, left: A, right: A) => A,
  ) {}

  init(context: ProcessorContext<Windowed<K>, Change<A>>): void {
    this.ctx = context;
    this.store = context.getStateStore<ProcessorSessionStore<K, A>>(this.storeName);
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
      this.store.remove(r.key, s.start, s.end);
      this.ctx.forward({
        key: { key: r.key, window: { start: s.start, end: s.end } },
        value: { newValue: null, oldValue: s.value },
        timestamp: r.timestamp,
        headers: r.headers,
      });
    }
    this.store.put(r.key, start, end, agg);
    this.ctx.forward({
      key: { key: r.key, window: { start, end } },
      value: { newValue: agg, oldValue: old },
      timestamp: r.timestamp,
      headers: r.headers,
    });
  }
}
