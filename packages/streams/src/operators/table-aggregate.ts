import type { RecordHeaders } from "@tributary/log";
import type { ProcessorKeyValueStore } from "@tributary/state";
import type { Change } from "../runtime/change.js";
import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { KeyValue, StreamRecord } from "../runtime/stream-record.js";
import { type RecordCachingStore, recordCache } from "./record-cache.js";

/**
 * KTable.groupBy: maps each table update to the new grouping key. The old value is
 * retracted from its group and the new one added to its group: one record when both
 * land on the same key, else two (retraction first), like Kafka's
 * KTableRepartitionMap. A null selected key is dropped.
 */
export class TableGroupByProcessor<K, V, K2, V2>
  implements Processor<K, Change<V>, K2, Change<V2>>
{
  private ctx!: ProcessorContext<K2, Change<V2>>;

  constructor(private readonly selector: (key: K, value: V) => KeyValue<K2, V2>) {}

  init(context: ProcessorContext<K2, Change<V2>>): void {
    this.ctx = context;
  }

  process(r: StreamRecord<K, Change<V>>): void {
    const n = r.value.newValue === null ? null : this.selector(r.key, r.value.newValue);
    const o = r.value.oldValue === null ? null : this.selector(r.key, r.value.oldValue);
    const { timestamp, headers } = r;
    if (n !== null && o !== null && sameKey(n[0], o[0])) {
      if (n[0] === null || n[0] === undefined) return;
      this.ctx.forward({
        key: n[0],
        value: { newValue: n[1], oldValue: o[1] },
        timestamp,
        headers,
      });
      return;
    }
    if (o !== null && o[0] !== null && o[0] !== undefined) {
      this.ctx.forward({
        key: o[0],
        value: { newValue: null, oldValue: o[1] },
        timestamp,
        headers,
      });
    }
    if (n !== null && n[0] !== null && n[0] !== undefined) {
      this.ctx.forward({
        key: n[0],
        value: { newValue: n[1], oldValue: null },
        timestamp,
        headers,
      });
    }
  }
}

function sameKey(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // structured keys: compare by value, as their bytes would be compared
  return typeof a === "object" && typeof b === "object" && JSON.stringify(a) === JSON.stringify(b);
}

/**
 * KGroupedTable count/reduce/aggregate: subtracts the retracted value, adds the new one,
 * and forwards the aggregate's change. With no initializer (reduce) a key's first value
 * is its aggregate, and a key whose aggregate becomes null is deleted. With a record
 * cache on the store (the worker's `cacheMaxBytes` > 0) the change goes downstream when
 * the cache flushes, once per key (see StreamAggregateProcessor).
 */
export class TableAggregateProcessor<K, V, A> implements Processor<K, Change<V>, K, Change<A>> {
  private ctx!: ProcessorContext<K, Change<A>>;
  private store!: ProcessorKeyValueStore<K, A>;
  private cache: RecordCachingStore<K, A> | null = null;

  constructor(
    private readonly storeName: string,
    private readonly initializer: (() => A) | null,
    private readonly adder: (key: K, value: V, aggregate: A) => A,
    private readonly subtractor: (key: K, value: V, aggregate: A) => A,
  ) {}

  init(context: ProcessorContext<K, Change<A>>): void {
    this.ctx = context;
    this.store = context.getStateStore<ProcessorKeyValueStore<K, A>>(this.storeName);
    this.cache = recordCache<K, A>(this.store, (key, value, timestamp, headers) =>
      this.emit(key, value, timestamp, headers),
    );
  }

  process(r: StreamRecord<K, Change<V>>): void {
    if (r.key === null || r.key === undefined) return;
    const stored = this.store.get(r.key);
    const old = stored === undefined ? null : stored;
    let agg: A | null = old ?? (this.initializer === null ? null : this.initializer());
    const c = r.value;
    if (c.oldValue !== null && agg !== null && (old !== null || this.initializer !== null)) {
      agg = this.subtractor(r.key, c.oldValue, agg);
    }
    if (c.newValue !== null) {
      agg = agg === null ? (c.newValue as unknown as A) : this.adder(r.key, c.newValue, agg);
    }
    const newValue = agg ?? null;
    if (this.cache !== null) {
      this.cache.putCached(r.key, newValue, old, r.timestamp, r.headers);
      return;
    }
    if (newValue === null) this.store.delete(r.key);
    else this.store.put(r.key, newValue);
    this.emit(r.key, { newValue, oldValue: old }, r.timestamp, r.headers);
  }

  private emit(key: K, value: Change<A>, timestamp: number, headers: RecordHeaders): void {
    this.ctx.forward({ key, value, timestamp, headers });
  }
}
