import type { GraphNode } from "../graph/graph-node.js";
import { ProcessorGraphNode } from "../graph/processor-graph-node.js";
import { changeSerde } from "../runtime/change.js";
import { TableAggregateProcessor } from "../operators/table-aggregate.js";
import type { Serde } from "../serdes.js";
import { AggregateBuilder } from "./aggregate-builder.js";
import type { GraphContext } from "./graph-context.js";
import type { KTable } from "./ktable.js";
import type { Materialized, Named } from "./options.js";

/**
 * A table regrouped by a new key (Kafka's KGroupedTable). Every update reaches the
 * aggregation as a retraction of the old value from its old group and an addition of the
 * new value to its new group, through a repartition topic that carries both (a Change).
 */
export class KGroupedTable<K, V> {
  private readonly aggregates: AggregateBuilder<K, V>;

  /** @internal */
  constructor(
    private readonly context: GraphContext,
    private readonly node: GraphNode,
    groupName: string | undefined,
    private readonly keySerde: Serde<K> | undefined,
    private readonly valueSerde: Serde<V> | undefined,
  ) {
    this.aggregates = new AggregateBuilder(context, groupName, keySerde, valueSerde);
  }

  /** Rows per group. */
  count(materialized: Materialized<K, number> = {}, named?: Named): KTable<K, number> {
    return this.build<number>(
      "KTABLE-AGGREGATE-",
      () => 0,
      (_k, _v, n) => n + 1,
      (_k, _v, n) => n - 1,
      materialized,
      named,
    );
  }

  reduce(
    adder: (aggregate: V, value: V) => V,
    subtractor: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = {},
    named?: Named,
  ): KTable<K, V> {
    return this.build<V>(
      "KTABLE-REDUCE-",
      null,
      (_k, v, agg) => adder(agg, v),
      (_k, v, agg) => subtractor(agg, v),
      { ...materialized, valueSerde: materialized.valueSerde ?? this.valueSerde },
      named,
    );
  }

  aggregate<A>(
    initializer: () => A,
    adder: (key: K, value: V, aggregate: A) => A,
    subtractor: (key: K, value: V, aggregate: A) => A,
    materialized: Materialized<K, A> = {},
    named?: Named,
  ): KTable<K, A> {
    return this.build<A>("KTABLE-AGGREGATE-", initializer, adder, subtractor, materialized, named);
  }

  private build<A>(
    prefix: string,
    initializer: (() => A) | null,
    adder: (key: K, value: V, aggregate: A) => A,
    subtractor: (key: K, value: V, aggregate: A) => A,
    materialized: Materialized<K, A>,
    named: Named | undefined,
  ): KTable<K, A> {
    const plan = this.aggregates.plan(prefix, materialized, named);
    const { storeName } = plan;
    // the repartition topic carries each update as a Change: the old and the new value
    const repartition = {
      ...plan.repartition,
      valueSerde: changeSerde(plan.repartition.valueSerde) as Serde<unknown>,
    };
    const node = new ProcessorGraphNode(
      plan.name,
      () => new TableAggregateProcessor<K, V, A>(storeName, initializer, adder, subtractor),
      { stores: [plan.store], repartition },
    );
    this.context.add(node, [this.node]);
    return new this.context.classes.KTable<K, A>(
      this.context,
      node,
      storeName,
      materialized.keySerde ?? this.keySerde,
      materialized.valueSerde,
    );
  }
}
