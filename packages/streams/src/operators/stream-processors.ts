import type { Processor, ProcessorContext } from "../runtime/processor.js";
import type { KeyValue, StreamRecord } from "../runtime/stream-record.js";

/**
 * The stateless KStream processors. Each keeps the record's timestamp and headers; the
 * DSL decides which of them change the key (and so may need a repartition downstream).
 */
abstract class Forwarding<K, V, K2, V2> implements Processor<K, V, K2, V2> {
  protected ctx!: ProcessorContext<K2, V2>;

  init(context: ProcessorContext<K2, V2>): void {
    this.ctx = context;
  }

  abstract process(record: StreamRecord<K, V>): void;
}

export class MapProcessor<K, V, K2, V2> extends Forwarding<K, V, K2, V2> {
  constructor(private readonly mapper: (key: K, value: V) => KeyValue<K2, V2>) {
    super();
  }

  process(r: StreamRecord<K, V>): void {
    const [key, value] = this.mapper(r.key, r.value);
    this.ctx.forward({ key, value, timestamp: r.timestamp, headers: r.headers });
  }
}

export class SelectKeyProcessor<K, V, K2> extends Forwarding<K, V, K2, V> {
  constructor(private readonly selector: (key: K, value: V) => K2) {
    super();
  }

  process(r: StreamRecord<K, V>): void {
    const key = this.selector(r.key, r.value);
    this.ctx.forward({ key, value: r.value, timestamp: r.timestamp, headers: r.headers });
  }
}

export class MapValuesProcessor<K, V, V2> extends Forwarding<K, V, K, V2> {
  constructor(private readonly mapper: (value: V, key: K) => V2) {
    super();
  }

  process(r: StreamRecord<K, V>): void {
    const value = this.mapper(r.value, r.key);
    this.ctx.forward({ key: r.key, value, timestamp: r.timestamp, headers: r.headers });
  }
}

export class FilterProcessor<K, V> extends Forwarding<K, V, K, V> {
  constructor(
    private readonly predicate: (key: K, value: V) => boolean,
    private readonly negate: boolean,
  ) {
    super();
  }

  process(r: StreamRecord<K, V>): void {
    if (this.predicate(r.key, r.value) !== this.negate) this.ctx.forward(r);
  }
}

export class FlatMapProcessor<K, V, K2, V2> extends Forwarding<K, V, K2, V2> {
  constructor(private readonly mapper: (key: K, value: V) => Iterable<KeyValue<K2, V2>>) {
    super();
  }

  process(r: StreamRecord<K, V>): void {
    for (const [key, value] of this.mapper(r.key, r.value)) {
      this.ctx.forward({ key, value, timestamp: r.timestamp, headers: r.headers });
    }
  }
}

export class FlatMapValuesProcessor<K, V, V2> extends Forwarding<K, V, K, V2> {
  constructor(private readonly mapper: (value: V, key: K) => Iterable<V2>) {
    super();
  }

  process(r: StreamRecord<K, V>): void {
    for (const value of this.mapper(r.value, r.key)) {
      this.ctx.forward({ key: r.key, value, timestamp: r.timestamp, headers: r.headers });
    }
  }
}

export class PeekProcessor<K, V> extends Forwarding<K, V, K, V> {
  constructor(private readonly action: (key: K, value: V) => void) {
    super();
  }

  process(r: StreamRecord<K, V>): void {
    this.action(r.key, r.value);
    this.ctx.forward(r);
  }
}

/** merge, and the repartition topic's own source side. */
export class PassThroughProcessor<K, V> extends Forwarding<K, V, K, V> {
  process(r: StreamRecord<K, V>): void {
    this.ctx.forward(r);
  }
}

/** Aggregations ignore null keys (a null key has no partition to live in): dropping them
 * before the repartition topic saves the write. */
export class DropNullKeyProcessor<K, V> extends Forwarding<K, V, K, V> {
  process(r: StreamRecord<K, V>): void {
    if (r.key !== null && r.key !== undefined) this.ctx.forward(r);
  }
}

/** split(): the record goes to the first branch whose predicate holds, else the default
 * branch (if any), else nowhere. */
export class BranchProcessor<K, V> extends Forwarding<K, V, K, V> {
  constructor(
    private readonly predicates: readonly ((key: K, value: V) => boolean)[],
    private readonly children: readonly string[],
    private readonly defaultChild: string | null,
  ) {
    super();
  }

  process(r: StreamRecord<K, V>): void {
    for (let i = 0; i < this.predicates.length; i++) {
      if (this.predicates[i]!(r.key, r.value)) {
        this.ctx.forward(r, this.children[i]);
        return;
      }
    }
    if (this.defaultChild !== null) this.ctx.forward(r, this.defaultChild);
  }
}
