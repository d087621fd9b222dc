import type { GraphNode } from "../graph/graph-node.js";
import { ProcessorGraphNode } from "../graph/processor-graph-node.js";
import { defaultSerde, type Serde } from "../serdes.js";
import { SessionWindowAggregateProcessor } from "../windows/session-window-aggregate-processor.js";
import type { SessionWindows } from "../windows/session-windows.js";
import { type Windowed, windowedSerde } from "../windows/windowed.js";
import { AggregateBuilder } from "./aggregate-builder.js";
import type { GraphContext } from "./graph-context.js";
import { KTable } from "./ktable.js";
import type { Materialized, Named } from "./options.js";

/**
 * A grouped stream cut into sessions (Kafka's SessionWindowedKStream): count, reduce and
 * aggregate per key and session, into a session store with retention gap + grace.
 * aggregate needs a merger, which combines two sessions' aggregates when a record bridges
 * them. The result is a KTable keyed by Windowed<K> (start and end inclusive).
 */
export class SessionWindowedKStream<K, V> {
  private readonly aggregates: AggregateBuilder<K, V>;

  /** @internal */
  constructor(
    private readonly context: GraphContext,
    private readonly node: GraphNode,
    groupName: string | undefined,
    keySerde: Serde<K> | undefined,
    private readonly valueSerde: Serde<V> | undefined,
    readonly windows: SessionWindows,
  ) {
    this.aggregates = new AggregateBuilder(context, groupName, keySerde, valueSerde);
  }

  count(materialized: Materialized<K, number> = {}, named?: Named): KTable<Windowed<K>, number> {
    return this.build<number>(
      "KSTREAM-AGGREGATE-",
      () => 0,
      (_k, _v, n) => n + 1,
      (_k, a, b) => a + b,
      { ...materialized, valueSerde: materialized.valueSerde ?? defaultSerde<number>() },
      named,
    );
  }

  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = {},
    named?: Named,
  ): KTable<Windowed<K>, V> {
    // a reduce has no initial value: undefined stands for "no value yet" in the fold
    const none = undefined as unknown as V;
    return this.build<V>(
      "KSTREAM-REDUCE-",
      () => none,
      (_k, v, agg) => (agg === none ? v : reducer(agg, v)),
      (_k, a, b) => (a === none ? b : b === none ? a : reducer(a, b)),
      { ...materialized, valueSerde: materialized.valueSerde ?? this.valueSerde },
      named,
    );
  }

  aggregate<A>(
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
    merger: (key: K, left: A, right: A) => A,
    materialized: Materialized<K, A> = {},
    named?: Named,
  ): KTable<Windowed<K>, A> {
    return this.build<A>(
      "KSTREAM-AGGREGATE-",
      initializer,
      aggregator,
      merger,
      materialized,
      named,
    );
  }

  private build<A>(
    prefix: string,
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
    merger: (key: K, left: A, right: A) => A,
    materialized: Materialized<K, A>,
    named: Named | undefined,
  ): KTable<Windowed<K>, A> {
    const { name, storeName, keySerde, store, repartition } = this.aggregates.plan(
      prefix,
      materialized,
      named,
    );
    const w = this.windows;
    const forwarding = { everyUpdate: false };
    const node = new ProcessorGraphNode(
      name,
      () =>
        new SessionWindowAggregateProcessor<K, V, A>(
          storeName,
          w,
          initializer,
          aggregator,
          merger,
          forwarding.everyUpdate,
        ),
      {
        stores: [{ ...store, type: "session", retentionMs: w.retentionMs() }],
        repartition,
        description: `session aggregation, ${w}`,
      },
    );
    this.context.add(node, [this.node]);
    return new KTable<Windowed<K>, A>(
      this.context,
      node,
      storeName,
      windowedSerde(keySerde),
      materialized.valueSerde,
      {
        description: w.toString(),
        closesAt: (win) => w.closesAt(win.end),
        forwardEveryUpdate: () => {
          forwarding.everyUpdate = true;
        },
      },
    );
  }
}
