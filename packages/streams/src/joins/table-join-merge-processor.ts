import type { Change } from "../runtime/change.js";
import type { ProcessorKeyValueStore } from "@tributary/state";
import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { StreamRecord } from "../runtime/stream-record.js";

/** Where a table-table join's two sides meet: passes changes on, and materializes the
 * joined table when it has a store (null deletes). */
export class TableJoinMergeProcessor<K, V> implements Processor<K, Change<V>, K, Change<V>> {
  private ctx!: ProcessorContext<K, Change<V>>;
  private store: ProcessorKeyValueStore<K, V> | null = null;

  constructor(private readonly storeName: string | null) {}

  init(context: ProcessorContext<K, Change<V>>): void {
    this.ctx = context;
    if (this.storeName !== null) {
      this.store = context.getStateStore<ProcessorKeyValueStore<K, V>>(this.storeName);
    }
  }

  process(r: StreamRecord<K, Change<V>>): void {
    if (this.store !== null) {
      if (r.value.newValue === null) this.store.delete(r.key);
      else this.store.put(r.key, r.value.newValue);
    }
    this.ctx.forward(r);
  }
}
