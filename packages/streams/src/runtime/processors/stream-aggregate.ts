import type { Change } from "../change.js";
import type { KeyValueStore } from "../key-value-store.js";
import type { Processor, ProcessorContext } from "../processor.js";
import type { StreamRecord } from "../stream-record.js";

/**
 * count, reduce and aggregate over a grouped KStream: folds each record into the key's
 * aggregate in the store and forwards the update as a KTable change (new and old
 * aggregate). Records with a null key or a null value are skipped, as in Kafka.
 * `fold(key, value, current)` gets undefined for a key's first record.
 */
export class StreamAggregateProcessor<K, V, A> implements Processor<K, V, K, Change<A>> {
  private ctx!: ProcessorContext<K, Change<A>>;
  private store!: KeyValueStore<K, A>;
  /** Records skipped for a null key or value. */
  skipped = 0;

  constructor(
    private readonly storeName: string,
    private readonly fold: (key: K, value: V, current: A | undefined) => A,
  ) {}

  init(context: ProcessorContext<K, Change<A>>): void {
    this.ctx = context;
    this.store = context.getStateStore<KeyValueStore<K, A>>(this.storeName);
  }

  process(r: StreamRecord<K, V>): void {
    if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) {
      this.skipped++;
      return;
    }
    const old = this.store.get(r.key);
    const next = this.fold(r.key, r.value, old);
    this.store.put(r.key, next);
    this.ctx.forward({
      key: r.key,
      value: { newValue: next, oldValue: old === undefined ? null : old },
      timestamp: r.timestamp,
      headers: r.headers,
    });
  }
}
