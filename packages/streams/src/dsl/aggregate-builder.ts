import type { RepartitionRequest, StoreDraft } from "../graph/graph-node.js";
import { defaultSerde, type Serde } from "../serdes.js";
import type { GraphContext } from "./graph-context.js";
import type { Materialized, Named } from "./options.js";

/** What an aggregation of a grouped input needs before its processor is built. */
export interface AggregationPlan<K> {
  /** The processor's name: `Named`, else `<prefix><n>`. */
  name: string;
  /** `Materialized.storeName`, else `<prefix>STATE-STORE-<n>`. */
  storeName: string;
  /** The store's key serde: the materialized one, else the grouping's, else the default. */
  keySerde: Serde<K>;
  /** The aggregate store (key-value; windowed aggregations add a type and retention). */
  store: StoreDraft;
  /**
   * The repartition topic the compiler puts before the aggregation if keys may have
   * changed upstream, named after the grouping, else the store.
   */
  repartition: RepartitionRequest;
}

/**
 * The plumbing count, reduce and aggregate share across KGroupedStream, KGroupedTable,
 * TimeWindowedKStream and SessionWindowedKStream (Kafka's GroupedStreamAggregateBuilder):
 * naming the processor and its store, resolving serdes, asking for the repartition topic.
 * The callers build the processor and the resulting KTable.
 */
export class AggregateBuilder<K, V> {
  constructor(
    private readonly context: GraphContext,
    private readonly groupName: string | undefined,
    private readonly keySerde: Serde<K> | undefined,
    private readonly valueSerde: Serde<V> | undefined,
  ) {}

  plan<A>(
    prefix: string,
    materialized: Materialized<K, A>,
    named: Named | undefined,
  ): AggregationPlan<K> {
    const name = this.context.name(prefix, named);
    const storeName = this.context.storeName(`${prefix}STATE-STORE-`, materialized.storeName);
    const keySerde = (materialized.keySerde ?? this.keySerde ?? defaultSerde()) as Serde<K>;
    return {
      name,
      storeName,
      keySerde,
      store: {
        name: storeName,
        keySerde: keySerde as Serde<unknown>,
        valueSerde: (materialized.valueSerde ?? defaultSerde()) as Serde<unknown>,
        loggingEnabled: materialized.loggingEnabled ?? true,
      },
      repartition: {
        baseName: this.groupName ?? storeName,
        keySerde: (this.keySerde ?? defaultSerde()) as Serde<unknown>,
        valueSerde: (this.valueSerde ?? defaultSerde()) as Serde<unknown>,
        partitions: null,
      },
    };
  }
}

/** How an aggregate moves on by one record; `current` is undefined for a new key/window. */
export type Fold<K, V, A> = (key: K, value: V, current: A | undefined) => A;

/**
 * The three folds of Kafka's DSL, defined once for grouped and time-windowed streams:
 * count adds one, reduce starts from a key's first value, aggregate from `initializer()`.
 */
export const folds = {
  count<K, V>(): Fold<K, V, number> {
    return (_k, _v, n) => (n ?? 0) + 1;
  },
  reduce<K, V>(reducer: (aggregate: V, value: V) => V): Fold<K, V, V> {
    return (_k, v, agg) => (agg === undefined ? v : reducer(agg, v));
  },
  aggregate<K, V, A>(
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
  ): Fold<K, V, A> {
    return (k, v, agg) => aggregator(k, v, agg === undefined ? initializer() : agg);
  },
};
