import type { Change } from "../runtime/change.js";
import type { ProcessorWindowStore } from "@tributary/state";
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
 */
export class WindowAggregateProcessor<K, V, A> implements Processor<K, V, Windowed<K>, Change<A>> {
  private ctx!: ProcessorContext<Windowed<K>, Change<A>>;
  private store!: ProcessorWindowStore<K, A>;

  constructor(
    private readonly storeName: string,
    private readonly windows: TimeWindows,
    private readonly fold: (key: K, value: V, current: A | undefined) => A,
  ) {}

  init(context: ProcessorContext<Windowed<K>, Change<A>>): void {
    this.ctx = context;
    this.store = context.getStateStore<ProcessorWindowStore<K, A>>(this.storeName);
  }

  process(r: StreamRecord<K, V>): void {
    if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
    const now = this.ctx.streamTime();
    const size = this.windows.sizeMs;
    for (const start of this.windows.windowStartsFor(r.timestamp)) {
      if (this.windows.closesAt(start) <= now) {
        recordDropped(this.store);
        continue;
      }
      const old = this.store.fetch(r.key, start);
      const next = this.fold(r.key, r.value, old ?? undefined);
      this.store.put(r.key, start, next);
      this.ctx.forward({
        key: { key: r.key, window: { start, end: start + size } },
        value: { newValue: next, oldValue: old },
        timestamp: r.timestamp,
        headers: r.headers,
      });
    }
  }
}
