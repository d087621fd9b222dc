import type { Change } from "../runtime/change.js";
import type { ProcessorKeyValueStore } from "@tributary/state";
import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { StreamRecord } from "../runtime/stream-record.js";

/**
 * KTable processors. A table forwards every update as a Change (new and old value, null
 * for absent), so that operations downstream can retract the old value. An update that
 * leaves the key absent before and after (a tombstone for an unknown key, or a filter
 * that rejects both) is not forwarded.
 */

/** table(): the latest value per key from a changelog-style topic; null deletes. */
export class TableSourceProcessor<K, V> implements Processor<K, V | null, K, Change<V>> {
  private ctx!: ProcessorContext<K, Change<V>>;
  private store!: ProcessorKeyValueStore<K, V>;

  constructor(private readonly storeName: string) {}

  init(context: ProcessorContext<K, Change<V>>): void {
    this.ctx = context;
    this.store = context.getStateStore<ProcessorKeyValueStore<K, V>>(this.storeName);
  }

  process(r: StreamRecord<K, V | null>): void {
    if (r.key === null || r.key === undefined) return;
    const old = this.store.get(r.key);
    if (r.value === null || r.value === undefined) {
      if (old === undefined) return;
      this.store.delete(r.key);
    } else {
      this.store.put(r.key, r.value);
    }
    this.ctx.forward({
      key: r.key,
      value: { newValue: r.value ?? null, oldValue: old === undefined ? null : old },
      timestamp: r.timestamp,
      headers: r.headers,
    });
  }
}

/** Applies an update to an optional materializing store; null deletes. */
function materialize<K, V>(
  store: ProcessorKeyValueStore<K, V> | null,
  key: K,
  value: V | null,
): void {
  if (store === null) return;
  if (value === null) store.delete(key);
  else store.put(key, value);
}

/**
 * A table operator whose result may be materialized (mapValues, filter with a store
 * name): each update goes to its store, when it has one, and on to the children.
 */
abstract class MaterializingTableProcessor<K, V, V2>
  implements Processor<K, Change<V>, K, Change<V2>>
{
  private ctx!: ProcessorContext<K, Change<V2>>;
  private store: ProcessorKeyValueStore<K, V2> | null = null;

  constructor(private readonly storeName: string | null) {}

  init(context: ProcessorContext<K, Change<V2>>): void {
    this.ctx = context;
    if (this.storeName !== null) {
      this.store = context.getStateStore<ProcessorKeyValueStore<K, V2>>(this.storeName);
    }
  }

  abstract process(r: StreamRecord<K, Change<V>>): void;

  /** Materializes the new value (null deletes) and forwards the update. */
  protected emit(r: StreamRecord<K, Change<V>>, newValue: V2 | null, oldValue: V2 | null): void {
    materialize(this.store, r.key, newValue);
    this.ctx.forward({
      key: r.key,
      value: { newValue, oldValue },
      timestamp: r.timestamp,
      headers: r.headers,
    });
  }
}

export class TableMapValuesProcessor<K, V, V2> extends MaterializingTableProcessor<K, V, V2> {
  constructor(
    private readonly mapper: (value: V, key: K) => V2,
    storeName: string | null,
  ) {
    super(storeName);
  }

  process(r: StreamRecord<K, Change<V>>): void {
    const c = r.value;
    const newValue = c.newValue === null ? null : this.mapper(c.newValue, r.key);
    const oldValue = c.oldValue === null ? null : this.mapper(c.oldValue, r.key);
    this.emit(r, newValue, oldValue);
  }
}

export class TableFilterProcessor<K, V> extends MaterializingTableProcessor<K, V, V> {
  constructor(
    private readonly predicate: (key: K, value: V) => boolean,
    private readonly negate: boolean,
    storeName: string | null,
  ) {
    super(storeName);
  }

  process(r: StreamRecord<K, Change<V>>): void {
    const c = r.value;
    const newValue = c.newValue !== null && this.keep(r.key, c.newValue) ? c.newValue : null;
    const oldValue = c.oldValue !== null && this.keep(r.key, c.oldValue) ? c.oldValue : null;
    if (newValue === null && oldValue === null) return;
    this.emit(r, newValue, oldValue);
  }

  private keep(key: K, value: V): boolean {
    return this.predicate(key, value) !== this.negate;
  }
}

/** toStream(): each update becomes a record with the new value (null for a deletion). */
export class TableToStreamProcessor<K, V> implements Processor<K, Change<V>, K, V | null> {
  private ctx!: ProcessorContext<K, V | null>;

  init(context: ProcessorContext<K, V | null>): void {
    this.ctx = context;
  }

  process(r: StreamRecord<K, Change<V>>): void {
    this.ctx.forward({
      key: r.key,
      value: r.value.newValue,
      timestamp: r.timestamp,
      headers: r.headers,
    });
  }
}
