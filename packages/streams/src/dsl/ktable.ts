import { Serdes } from "@tributary/log";
import { StreamsArgumentError } from "../errors.js";
import type { GraphNode, StoreDraft } from "../graph/graph-node.js";
import { TableTableJoinNode } from "../graph/table-table-join-node.js";
import type { JoinType, ValueJoiner } from "../joins/join-type.js";
import { SuppressProcessor, suppressBufferValueSerde } from "../windows/suppress-processor.js";
import type { Suppressed } from "../windows/suppressed.js";
import type { Window, Windowed } from "../windows/windowed.js";
import { ProcessorGraphNode } from "../graph/processor-graph-node.js";
import { TableGroupByProcessor } from "../operators/table-aggregate.js";
import {
  TableFilterProcessor,
  TableMapValuesProcessor,
  TableToStreamProcessor,
} from "../operators/table-processors.js";
import type { KeyValue } from "../runtime/stream-record.js";
import { defaultSerde, type Serde } from "../serdes.js";
import { checkName, type GraphContext } from "./graph-context.js";
import { KGroupedTable } from "./kgrouped-table.js";
import { foreignKeyJoin } from "./foreign-key-join.js";
import type { KStream } from "./kstream.js";
import type { Grouped, Materialized, Named } from "./options.js";

/** What a windowed aggregation's table knows about its windows. */
export interface Windowing {
  description: string;
  /** Stream time at which the window can no longer change. */
  closesAt: (window: Window) => number;
  /**
   * Makes the aggregation forward every update as it happens, not on its record cache's
   * flush: suppress judges an update late by the task's stream time when it arrives, and
   * by a flush that time may have passed the window's close.
   */
  forwardEveryUpdate?: () => void;
}

/**
 * A changelog stream read as a table: the latest value per key, where a null value deletes
 * the key (Kafka's KTable). Its processors forward each update with the key's old value,
 * so aggregations downstream can retract it. An update is forwarded as soon as it happens
 * (no caching here; the store layer may add it).
 */
export class KTable<K, V> {
  /** @internal */
  constructor(
    readonly context: GraphContext,
    readonly node: GraphNode,
    private readonly storeName: string | null,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    /** Set on a windowed aggregation's table: when each window closes (for suppress). */
    readonly windowing: Windowing | null = null,
  ) {}

  /**
   * Holds back a windowed table's updates until each window closes, then emits its final
   * value once (Kafka's suppress(untilWindowCloses(...))). The buffer is a change-logged
   * store, `<name>-store` or `KTABLE-SUPPRESS-STATE-STORE-<n>`, so it survives a restart.
   */
  suppress(suppressed: Suppressed): KTable<K, V> {
    const windowing = this.windowing;
    if (windowing === null) {
      throw new StreamsArgumentError(
        "suppress(untilWindowCloses()) needs a windowed table: call it on the result of windowedBy(...).count/reduce/aggregate",
      );
    }
    const name = this.context.name(
      "KTABLE-SUPPRESS-",
      suppressed.name === undefined ? undefined : { name: suppressed.name },
    );
    const storeName = this.context.storeName(
      "KTABLE-SUPPRESS-STATE-STORE-",
      suppressed.name === undefined ? undefined : `${suppressed.name}-store`,
    );
    windowing.forwardEveryUpdate?.();
    const keySerde = (this.keySerde ?? defaultSerde()) as Serde<K & Windowed<unknown>>;
    const valueSerde = (this.valueSerde ?? defaultSerde()) as Serde<V>;
    const node = new ProcessorGraphNode(
      name,
      () =>
        new SuppressProcessor<unknown, V>(
          storeName,
          keySerde as Serde<Windowed<unknown>>,
          valueSerde,
          windowing.closesAt,
        ),
      {
        stores: [
          {
            name: storeName,
            keySerde: Serdes.bytes() as Serde<unknown>,
            valueSerde: suppressBufferValueSerde as Serde<unknown>,
            loggingEnabled: true,
            inMemory: true,
          },
        ],
        description: `suppress until window closes, ${windowing.description}`,
      },
    );
    this.context.add(node, [this.node]);
    return new KTable<K, V>(this.context, node, null, this.keySerde, this.valueSerde, windowing);
  }

  /** Inner table-table join: a key has a joined value while both tables have one. */
  join<V2, VR>(
    other: KTable<K, V2>,
    joiner: (left: V, right: V2) => VR,
    materialized?: Materialized<K, VR>,
    named?: Named,
  ): KTable<K, VR>;
  /** Foreign-key inner join (KIP-213): each left row with the right row whose key
   * `foreignKeyExtractor` finds in its value; keyed like this table. */
  join<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: (value: V) => KO | null,
    joiner: (left: V, right: VO) => VR,
    materialized?: Materialized<K, VR>,
    named?: Named,
  ): KTable<K, VR>;
  join<KO, V2, VR>(
    other: KTable<KO, V2>,
    joiner: unknown,
    materializedOrJoiner?: unknown,
    materialized?: unknown,
    named?: Named,
  ): KTable<K, VR> {
    return this.joinWith("inner", other, joiner, materializedOrJoiner, materialized, named);
  }

  /** Left table-table join: a key has a joined value while the left table has one. */
  leftJoin<V2, VR>(
    other: KTable<K, V2>,
    joiner: (left: V, right: V2 | null) => VR,
    materialized?: Materialized<K, VR>,
    named?: Named,
  ): KTable<K, VR>;
  /** Foreign-key left join (KIP-213): a left row without a right row (or foreign key)
   * is joined with null. */
  leftJoin<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: (value: V) => KO | null,
    joiner: (left: V, right: VO | null) => VR,
    materialized?: Materialized<K, VR>,
    named?: Named,
  ): KTable<K, VR>;
  leftJoin<KO, V2, VR>(
    other: KTable<KO, V2>,
    joiner: unknown,
    materializedOrJoiner?: unknown,
    materialized?: unknown,
    named?: Named,
  ): KTable<K, VR> {
    return this.joinWith("left", other, joiner, materializedOrJoiner, materialized, named);
  }

  /** Outer table-table join: a key has a joined value while either table has one. */
  outerJoin<V2, VR>(
    other: KTable<K, V2>,
    joiner: (left: V | null, right: V2 | null) => VR,
    materialized?: Materialized<K, VR>,
    named?: Named,
  ): KTable<K, VR> {
    return this.tableJoin(
      "outer",
      other,
      joiner as ValueJoiner<unknown, unknown, VR>,
      materialized,
      named,
    );
  }

  /** The join overloads' one body: a function third argument means a foreign-key join
   * (other, foreignKeyExtractor, joiner, materialized?, named?). */
  private joinWith<KO, V2, VR>(
    type: "inner" | "left",
    other: KTable<KO, V2>,
    joiner: unknown,
    materializedOrJoiner: unknown,
    materialized: unknown,
    named: Named | undefined,
  ): KTable<K, VR> {
    if (typeof materializedOrJoiner === "function") {
      const m = materialized as Materialized<K, VR> | undefined;
      const { node, resultStore } = foreignKeyJoin(
        this,
        other,
        type === "left",
        joiner as (value: V) => KO,
        materializedOrJoiner as ValueJoiner<V, V2 | null, VR>,
        m,
        named,
      );
      return new KTable<K, VR>(this.context, node, resultStore, this.keySerde, m?.valueSerde);
    }
    return this.tableJoin(
      type,
      other as unknown as KTable<K, V2>,
      joiner as ValueJoiner<unknown, unknown, VR>,
      (materializedOrJoiner ?? undefined) as Materialized<K, VR> | undefined,
      (materialized ?? named) as Named | undefined,
    );
  }

  private tableJoin<V2, VR>(
    type: JoinType,
    other: KTable<K, V2>,
    joiner: ValueJoiner<unknown, unknown, VR>,
    materialized: Materialized<K, VR> | undefined,
    named: Named | undefined,
  ): KTable<K, VR> {
    if (other.context !== this.context) {
      throw new StreamsArgumentError("join() takes a table from the same StreamsBuilder");
    }
    const leftStore = this.queryableStoreName();
    const rightStore = other.queryableStoreName();
    if (leftStore === null || rightStore === null) {
      throw new StreamsArgumentError(
        `a table-table join reads both tables' stores, but the ${leftStore === null ? "left" : "right"} table is not materialized: pass Materialized { storeName } to the operation that made it`,
      );
    }
    const name = this.context.name("KTABLE-JOIN-", named);
    const result = this.draft("KTABLE-JOIN-STATE-STORE-", materialized);
    const node = new TableTableJoinNode(
      name,
      leftStore,
      rightStore,
      type,
      joiner as ValueJoiner<unknown, unknown, unknown>,
      result,
    );
    this.context.add(node, [this.node, other.node]);
    return new KTable<K, VR>(
      this.context,
      node,
      result?.name ?? null,
      this.keySerde ?? other.keySerde,
      materialized?.valueSerde,
    );
  }

  /** The store holding this table, if it is materialized (readable in the test driver). */
  queryableStoreName(): string | null {
    return this.storeName;
  }

  mapValues<V2>(
    mapper: (value: V, key: K) => V2,
    materialized?: Materialized<K, V2>,
    named?: Named,
  ): KTable<K, V2> {
    const name = this.context.name("KTABLE-MAPVALUES-", named);
    const store = this.draft("KTABLE-MAPVALUES-STATE-STORE-", materialized);
    const storeName = store?.name ?? null;
    const node = new ProcessorGraphNode(
      name,
      () => new TableMapValuesProcessor<K, V, V2>(mapper, storeName),
      { stores: store === null ? [] : [store] },
    );
    this.context.add(node, [this.node]);
    return new KTable(this.context, node, storeName, this.keySerde, materialized?.valueSerde);
  }

  /** Keeps the keys whose value passes; a key whose value stops passing is deleted
   * downstream (a tombstone is forwarded). */
  filter(
    predicate: (key: K, value: V) => boolean,
    materialized?: Materialized<K, V>,
    named?: Named,
  ): KTable<K, V> {
    return this.filtered(predicate, false, materialized, named);
  }

  filterNot(
    predicate: (key: K, value: V) => boolean,
    materialized?: Materialized<K, V>,
    named?: Named,
  ): KTable<K, V> {
    return this.filtered(predicate, true, materialized, named);
  }

  /** Each update as a record: the new value, or null when the key was deleted. */
  toStream(named?: Named): KStream<K, V | null> {
    const name = this.context.name("KTABLE-TOSTREAM-", named);
    const node = new ProcessorGraphNode(name, () => new TableToStreamProcessor<K, V>());
    this.context.add(node, [this.node]);
    return new this.context.classes.KStream<K, V | null>(
      this.context,
      node,
      this.keySerde,
      this.valueSerde as Serde<V | null> | undefined,
    );
  }

  /** Regroups the table by a new key, to aggregate with an adder and a subtractor. */
  groupBy<K2, V2>(
    selector: (key: K, value: V) => KeyValue<K2, V2>,
    grouped: Grouped<K2, V2> = {},
  ): KGroupedTable<K2, V2> {
    const name = this.context.name(
      "KTABLE-SELECT-",
      grouped.name === undefined
        ? undefined
        : { name: `${checkName(grouped.name, "grouped name")}-select` },
    );
    const node = new ProcessorGraphNode(
      name,
      () => new TableGroupByProcessor<K, V, K2, V2>(selector),
      {
        keyChanging: true,
      },
    );
    this.context.add(node, [this.node]);
    return new KGroupedTable<K2, V2>(
      this.context,
      node,
      grouped.name,
      grouped.keySerde,
      grouped.valueSerde,
    );
  }

  private filtered(
    predicate: (key: K, value: V) => boolean,
    negate: boolean,
    materialized: Materialized<K, V> | undefined,
    named: Named | undefined,
  ): KTable<K, V> {
    const name = this.context.name("KTABLE-FILTER-", named);
    const store = this.draft(
      "KTABLE-FILTER-STATE-STORE-",
      {
        ...materialized,
        valueSerde: materialized?.valueSerde ?? this.valueSerde,
      },
      materialized === undefined,
    );
    const storeName = store?.name ?? null;
    const node = new ProcessorGraphNode(
      name,
      () => new TableFilterProcessor<K, V>(predicate, negate, storeName),
      { stores: store === null ? [] : [store] },
    );
    this.context.add(node, [this.node]);
    return new KTable(this.context, node, storeName, this.keySerde, this.valueSerde);
  }

  /** A store only when the user asked for one (Materialized given). */
  private draft<V2>(
    prefix: string,
    materialized: Materialized<K, V2> | undefined,
    none = materialized === undefined,
  ): StoreDraft | null {
    if (none || materialized === undefined) return null;
    return {
      name: this.context.storeName(prefix, materialized.storeName),
      keySerde: (materialized.keySerde ?? this.keySerde ?? defaultSerde()) as Serde<unknown>,
      valueSerde: (materialized.valueSerde ?? defaultSerde()) as Serde<unknown>,
      loggingEnabled: materialized.loggingEnabled ?? true,
    };
  }
}
