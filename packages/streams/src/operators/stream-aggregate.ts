import type { RecordHeaders } from "@tributary/log";
import type { ProcessorKeyValueStore } from "@tributary/state";
import type { Change } from "../runtime/change.js";
import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { StreamRecord } from "../runtime/stream-record.js";
import { type RecordCachingStore, recordCache } from "./record-cache.js";

/**
 * count, reduce and aggregate over a grouped KStream: folds each record into the key's
 * aggregate in the store and forwards the update as a KTable change (new and old
 * aggregate). Records with a null key or a null value are skipped, as in Kafka.
 * `fold(key, value, current)` gets undefined for a key's first record.
 *
 * When the store has a record cache (the worker's `cacheMaxBytes` > 0) the change goes
 * downstream when the cache flushes, once per key, instead of once per record (Kafka's
 * "caching enabled" KTable aggregates); the test driver's stores have none.
 */
export class StreamAggregateProcessor<K, V, A> implements Processor<K, V, K, Change<A>> {
  private ctx!: ProcessorContext<K, Change<A>>;
  private store!: ProcessorKeyValueStore<K, A>;
  private cache: RecordCachingStore<K, A> | null = null;
  /** Records skipped for a null key or value. */
  skipped = 0;

  constructor(
    private readonly storeName: string,
    private readonly fold: (key: K, value: V, current: A | undefined) => A,
  ) {}

  init(context: ProcessorContext<K, Change<A>>): void {
    this.ctx = context;
    this.store = context.getStateStore<ProcessorKeyValueStore<K, A>>(this.storeName);
    this.cache = recordCache<K, A>(this.store, (key, value, timestamp, headers) =>
      this.emit(key, value, timestamp, headers),
    );
  }

  process(r: StreamRecord<K, V>): void {
    const key = r.key;
    if (key === null || key === undefined || r.value === null || r.value === undefined) {
      this.skipped++;
      return;
    }
    const old = this.store.get(key);
    const next = this.fold(key, r.value, old);
    const oldValue = old === undefined ? null : old;
    if (this.cache !== null) {
      this.cache.putCached(key, next, oldValue, r.timestamp, r.headers);
      return;
    }
    this.store.put(key, next);
    this.emit(key, { newValue: next, oldValue }, r.timestamp, r.headers);
  }

  private emit(key: K, value: Change<A>, timestamp: number, headers: RecordHeaders): void {
    this.ctx.forward({ key, value, timestamp, headers });
  }
}
