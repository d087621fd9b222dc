import type { GraphNode } from "../graph/graph-node.js";
import { ProcessorGraphNode } from "../graph/processor-graph-node.js";
import { StreamAggregateProcessor } from "../operators/stream-aggregate.js";
import { defaultSerde, type Serde } from "../serdes.js";
import { AggregateBuilder, type Fold, folds } from "./aggregate-builder.js";
import type { GraphContext } from "./graph-context.js";
import { KTable } from "./ktable.js";
import type { Materialized, Named } from "./options.js";
import type { SessionWindows } from "../windows/session-windows.js";
import type { SlidingWindows } from "../windows/sliding-windows.js";
import type { TimeWindows } from "../windows/time-windows.js";
import { SessionWindowedKStream } from "./session-windowed-kstream.js";
import { TimeWindowedKStream } from "./time-windowed-kstream.js";

/**
 * A stream grouped by key, ready to aggregate into a KTable (Kafka's KGroupedStream).
 * The aggregation's store is `Materialized.storeName` or a generated
 * `KSTREAM-AGGREGATE-STATE-STORE-<n>`; if keys may have changed upstream, the compiler puts
 * a repartition topic named after the grouping (or else the store) before it.
 */
export class KGroupedStream<K, V> {
  private readonly aggregates: AggregateBuilder<K, V>;

  /** @internal */
  constructor(
    private readonly context: GraphContext,
    private readonly node: GraphNode,
    private readonly groupName: string | undefined,
    private readonly keySerde: Serde<K> | undefined,
    private readonly valueSerde: Serde<V> | undefined,
  ) {
    this.aggregates = new AggregateBuilder(context, groupName, keySerde, valueSerde);
  }

  /** Records per key (null keys and values are skipped). */
  count(materialized: Materialized<K, number> = {}, named?: Named): KTable<K, number> {
    return this.fold<number>(
      "KSTREAM-AGGREGATE-",
      folds.count(),
      { ...materialized, valueSerde: materialized.valueSerde ?? defaultSerde<number>() },
      named,
    );
  }

  /** Combines values with `reducer`; a key's first value is its first aggregate. */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = {},
    named?: Named,
  ): KTable<K, V> {
    return this.fold<V>(
      "KSTREAM-REDUCE-",
      folds.reduce(reducer),
      { ...materialized, valueSerde: materialized.valueSerde ?? this.valueSerde },
      named,
    );
  }

  aggregate<A>(
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
    materialized: Materialized<K, A> = {},
    named?: Named,
  ): KTable<K, A> {
    return this.fold<A>(
      "KSTREAM-AGGREGATE-",
      folds.aggregate(initializer, aggregator),
      materialized,
      named,
    );
  }

  /** Cuts the grouped stream into time windows (tumbling/hopping) or sliding windows. */
  windowedBy(windows: TimeWindows | SlidingWindows): TimeWindowedKStream<K, V>;
  /** Cuts the grouped stream into sessions of activity per key. */
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>;
  windowedBy(
    windows: TimeWindows | SlidingWindows | SessionWindows,
  ): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    if (windows.kind === "session") {
      return new SessionWindowedKStream(
        this.context,
        this.node,
        this.groupName,
        this.keySerde,
        this.valueSerde,
        windows,
      );
    }
    return new TimeWindowedKStream(
      this.context,
      this.node,
      this.groupName,
      this.keySerde,
      this.valueSerde,
      windows,
    );
  }

  private fold<A>(
    prefix: string,
    fold: Fold<K, V, A>,
    materialized: Materialized<K, A>,
    named: Named | undefined,
  ): KTable<K, A> {
    const { name, storeName, store, repartition } = this.aggregates.plan(
      prefix,
      materialized,
      named,
    );
    const node = new ProcessorGraphNode(
      name,
      () => new StreamAggregateProcessor<K, V, A>(storeName, fold),
      { stores: [store], repartition },
    );
    this.context.add(node, [this.node]);
    return new KTable<K, A>(
      this.context,
      node,
      storeName,
      materialized.keySerde ?? this.keySerde,
      materialized.valueSerde,
    );
  }
}
