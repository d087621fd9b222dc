import type { GraphNode, StoreDraft } from "../graph/graph-node.js";
import { ProcessorGraphNode } from "../graph/processor-graph-node.js";
import { defaultSerde, type Serde } from "../serdes.js";
import { SlidingWindowAggregateProcessor } from "../windows/sliding-window-aggregate-processor.js";
import type { SlidingWindows } from "../windows/sliding-windows.js";
import type { TimeWindows } from "../windows/time-windows.js";
import { WindowAggregateProcessor } from "../windows/window-aggregate-processor.js";
import { type Windowed, windowedSerde } from "../windows/windowed.js";
import { AggregateBuilder, type Fold, folds } from "./aggregate-builder.js";
import type { GraphContext } from "./graph-context.js";
import { KTable, type Windowing } from "./ktable.js";
import type { Materialized, Named } from "./options.js";

/**
 * A grouped stream cut into TimeWindows or SlidingWindows (Kafka's TimeWindowedKStream):
 * count, reduce and aggregate per key and window, into a window store named
 * `Materialized.storeName` or `KSTREAM-AGGREGATE-STATE-STORE-<n>` with retention window
 * size + grace. The result is a KTable keyed by Windowed<K>, ready for suppress().
 */
export class TimeWindowedKStream<K, V> {
  private readonly aggregates: AggregateBuilder<K, V>;

  /** @internal */
  constructor(
    private readonly context: GraphContext,
    private readonly node: GraphNode,
    groupName: string | undefined,
    keySerde: Serde<K> | undefined,
    private readonly valueSerde: Serde<V> | undefined,
    readonly windows: TimeWindows | SlidingWindows,
  ) {
    this.aggregates = new AggregateBuilder(context, groupName, keySerde, valueSerde);
  }

  count(materialized: Materialized<K, number> = {}, named?: Named): KTable<Windowed<K>, number> {
    return this.fold<number>(
      "KSTREAM-AGGREGATE-",
      folds.count(),
      { ...materialized, valueSerde: materialized.valueSerde ?? defaultSerde<number>() },
      named,
    );
  }

  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = {},
    named?: Named,
  ): KTable<Windowed<K>, V> {
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
  ): KTable<Windowed<K>, A> {
    return this.fold<A>(
      "KSTREAM-AGGREGATE-",
      folds.aggregate(initializer, aggregator),
      materialized,
      named,
    );
  }

  private fold<A>(
    prefix: string,
    fold: Fold<K, V, A>,
    materialized: Materialized<K, A>,
    named: Named | undefined,
  ): KTable<Windowed<K>, A> {
    const { name, storeName, keySerde, store, repartition } = this.aggregates.plan(
      prefix,
      materialized,
      named,
    );
    const w = this.windows;
    const stores: StoreDraft[] = [{ ...store, type: "window", retentionMs: w.retentionMs() }];
    let supplier: () =>
      | WindowAggregateProcessor<K, V, A>
      | SlidingWindowAggregateProcessor<K, V, A>;
    let windowing: Windowing;
    if (w.kind === "time") {
      const forwarding = { everyUpdate: false };
      supplier = () =>
        new WindowAggregateProcessor<K, V, A>(storeName, w, fold, forwarding.everyUpdate);
      windowing = {
        description: w.toString(),
        closesAt: (win) => win.end + w.graceMs,
        forwardEveryUpdate: () => {
          forwarding.everyUpdate = true;
        },
      };
    } else {
      const recordsStore = `${storeName}-records`;
      stores.push({
        name: recordsStore,
        type: "window",
        keySerde: keySerde as Serde<unknown>,
        valueSerde: (this.valueSerde ?? defaultSerde()) as Serde<unknown>,
        loggingEnabled: materialized.loggingEnabled ?? true,
        retentionMs: w.retentionMs(),
        retainDuplicates: true,
      });
      const forwarding = { everyUpdate: false };
      supplier = () =>
        new SlidingWindowAggregateProcessor<K, V, A>(
          storeName,
          recordsStore,
          w,
          fold,
          forwarding.everyUpdate,
        );
      windowing = {
        description: w.toString(),
        closesAt: (win) => w.closesAt(win.end),
        forwardEveryUpdate: () => {
          forwarding.everyUpdate = true;
        },
      };
    }
    const node = new ProcessorGraphNode(name, supplier, {
      stores,
      repartition,
      description: `windowed aggregation, ${w}`,
    });
    this.context.add(node, [this.node]);
    return new KTable<Windowed<K>, A>(
      this.context,
      node,
      storeName,
      windowedSerde(keySerde),
      materialized.valueSerde,
      windowing,
    );
  }
}
