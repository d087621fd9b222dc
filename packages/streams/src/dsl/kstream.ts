import { StreamsArgumentError } from "../errors.js";
import type { GraphNode } from "../graph/graph-node.js";
import { ProcessorGraphNode } from "../graph/processor-graph-node.js";
import { RepartitionNode } from "../graph/repartition-node.js";
import { SinkNode } from "../graph/sink-node.js";
import type {
  FixedKeyProcessorSupplier,
  Processor,
  ProcessorSupplier,
} from "../processor/processor.js";
import {
  FilterProcessor,
  FlatMapProcessor,
  FlatMapValuesProcessor,
  MapProcessor,
  MapValuesProcessor,
  PassThroughProcessor,
  PeekProcessor,
  SelectKeyProcessor,
} from "../operators/stream-processors.js";
import type { KeyValue } from "../runtime/stream-record.js";
import { defaultSerde, type Serde } from "../serdes.js";
import { BranchedKStream } from "./branched-kstream.js";
import { checkName, type GraphContext } from "./graph-context.js";
import { KGroupedStream } from "./kgrouped-stream.js";
import type { Grouped, Joined, Named, Produced, Repartitioned } from "./options.js";
import type { JoinType, ValueJoiner } from "../joins/join-type.js";
import { JoinWindows } from "../windows/join-windows.js";
import { GlobalKTable } from "./global-ktable.js";
import type { KTable } from "./ktable.js";
import { streamGlobalTableJoin, streamStreamJoin, streamTableJoin } from "./stream-joins.js";
import { customProcessNode } from "./custom-process.js";

/**
 * A record stream: every record is an event, independent of the ones before it (Kafka's
 * KStream). Operations return new streams; nothing runs until the app is compiled and
 * started. Serdes travel with the stream while the key or value type is unchanged, and
 * fall back to MessagePack after an operation that changes it.
 */
export class KStream<K, V> {
  /** @internal */
  constructor(
    readonly context: GraphContext,
    readonly node: GraphNode,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
  ) {}

  map<K2, V2>(mapper: (key: K, value: V) => KeyValue<K2, V2>, named?: Named): KStream<K2, V2> {
    const name = this.context.name("KSTREAM-MAP-", named);
    return this.derive(
      new ProcessorGraphNode(name, () => new MapProcessor(mapper), { keyChanging: true }),
      undefined,
      undefined,
    );
  }

  mapValues<V2>(mapper: (value: V, key: K) => V2, named?: Named): KStream<K, V2> {
    const name = this.context.name("KSTREAM-MAPVALUES-", named);
    return this.derive(
      new ProcessorGraphNode(name, () => new MapValuesProcessor(mapper)),
      this.keySerde,
      undefined,
    );
  }

  selectKey<K2>(selector: (key: K, value: V) => K2, named?: Named): KStream<K2, V> {
    const name = this.context.name("KSTREAM-KEY-SELECT-", named);
    return this.derive(
      new ProcessorGraphNode(name, () => new SelectKeyProcessor(selector), { keyChanging: true }),
      undefined,
      this.valueSerde,
    );
  }

  filter(predicate: (key: K, value: V) => boolean, named?: Named): KStream<K, V> {
    const name = this.context.name("KSTREAM-FILTER-", named);
    return this.derive(
      new ProcessorGraphNode(name, () => new FilterProcessor(predicate, false)),
      this.keySerde,
      this.valueSerde,
    );
  }

  filterNot(predicate: (key: K, value: V) => boolean, named?: Named): KStream<K, V> {
    const name = this.context.name("KSTREAM-FILTER-", named);
    return this.derive(
      new ProcessorGraphNode(name, () => new FilterProcessor(predicate, true)),
      this.keySerde,
      this.valueSerde,
    );
  }

  flatMap<K2, V2>(
    mapper: (key: K, value: V) => Iterable<KeyValue<K2, V2>>,
    named?: Named,
  ): KStream<K2, V2> {
    const name = this.context.name("KSTREAM-FLATMAP-", named);
    return this.derive(
      new ProcessorGraphNode(name, () => new FlatMapProcessor(mapper), { keyChanging: true }),
      undefined,
      undefined,
    );
  }

  flatMapValues<V2>(mapper: (value: V, key: K) => Iterable<V2>, named?: Named): KStream<K, V2> {
    const name = this.context.name("KSTREAM-FLATMAPVALUES-", named);
    return this.derive(
      new ProcessorGraphNode(name, () => new FlatMapValuesProcessor(mapper)),
      this.keySerde,
      undefined,
    );
  }

  /** Calls `action` for each record and passes the record on unchanged. */
  peek(action: (key: K, value: V) => void, named?: Named): KStream<K, V> {
    const name = this.context.name("KSTREAM-PEEK-", named);
    return this.derive(
      new ProcessorGraphNode(name, () => new PeekProcessor(action)),
      this.keySerde,
      this.valueSerde,
    );
  }

  /** A terminal peek. */
  foreach(action: (key: K, value: V) => void, named?: Named): void {
    const name = this.context.name("KSTREAM-FOREACH-", named);
    this.derive(
      new ProcessorGraphNode(name, () => new PeekProcessor(action)),
      this.keySerde,
      this.valueSerde,
    );
  }

  /** Both streams' records, interleaved in processing order. */
  merge(other: KStream<K, V>, named?: Named): KStream<K, V> {
    if (other.context !== this.context) {
      throw new StreamsArgumentError("merge() takes a stream from the same StreamsBuilder");
    }
    const name = this.context.name("KSTREAM-MERGE-", named);
    const node = new ProcessorGraphNode(name, () => new PassThroughProcessor());
    this.context.add(node, [this.node, other.node]);
    return new KStream(
      this.context,
      node,
      this.keySerde ?? other.keySerde,
      this.valueSerde ?? other.valueSerde,
    );
  }

  /** Routes each record to the first branch whose predicate holds. */
  split(named?: Named): BranchedKStream<K, V> {
    return new BranchedKStream(this, named);
  }

  /** Writes the stream to a topic. */
  to(topic: string, produced: Produced<K, V> = {}): void {
    checkName(topic, "topic");
    const name = this.context.name("KSTREAM-SINK-", produced);
    const node = new SinkNode(
      name,
      topic,
      (produced.keySerde ?? this.keySerde ?? defaultSerde()) as Serde<unknown>,
      (produced.valueSerde ?? this.valueSerde ?? defaultSerde()) as Serde<unknown>,
    );
    this.context.add(node, [this.node]);
  }

  /** Sends records through a repartition topic (`<applicationId>-<name>-repartition`), so
   * that downstream they are partitioned by their current key. */
  repartition(options: Repartitioned<K, V> = {}): KStream<K, V> {
    const base = this.context.name("KSTREAM-REPARTITION-", options);
    const keySerde = options.keySerde ?? this.keySerde;
    const valueSerde = options.valueSerde ?? this.valueSerde;
    const n = options.numberOfPartitions;
    if (n !== undefined && !(Number.isInteger(n) && n >= 1)) {
      throw new StreamsArgumentError(`numberOfPartitions must be a whole number >= 1, got ${n}`);
    }
    const node = new RepartitionNode(
      {
        baseName: base,
        keySerde: (keySerde ?? defaultSerde()) as Serde<unknown>,
        valueSerde: (valueSerde ?? defaultSerde()) as Serde<unknown>,
        partitions: n ?? null,
      },
      false,
    );
    this.context.add(node, [this.node]);
    return new KStream(this.context, node, keySerde, valueSerde);
  }

  /** Groups by the current key; a repartition happens only if an upstream operation may
   * have changed keys. */
  groupByKey(grouped: Grouped<K, V> = {}): KGroupedStream<K, V> {
    return new KGroupedStream(
      this.context,
      this.node,
      grouped.name === undefined ? undefined : checkName(grouped.name, "grouped name"),
      grouped.keySerde ?? this.keySerde,
      grouped.valueSerde ?? this.valueSerde,
    );
  }

  /** Groups by a new key (always repartitions before the aggregation). */
  groupBy<K2>(
    selector: (key: K, value: V) => K2,
    grouped: Grouped<K2, V> = {},
  ): KGroupedStream<K2, V> {
    const selected = this.selectKey(selector);
    return new KGroupedStream(
      this.context,
      selected.node,
      grouped.name === undefined ? undefined : checkName(grouped.name, "grouped name"),
      grouped.keySerde,
      grouped.valueSerde ?? this.valueSerde,
    );
  }

  /**
   * A custom processor (Kafka's process()) with the stores it names, each added before
   * with `StreamsBuilder.addStateStore`; it forwards what it likes through its context,
   * to every child or to one by name. Its output counts as re-keyed: a later aggregation
   * or join repartitions. With stores, its input is repartitioned by key if an upstream
   * operation changed keys, so each task's store holds its partition's keys.
   */
  process<K2, V2>(
    supplier: ProcessorSupplier<K, V, K2, V2>,
    ...storeNames: string[]
  ): KStream<K2, V2>;
  process<K2, V2>(
    supplier: ProcessorSupplier<K, V, K2, V2>,
    named: Named,
    ...storeNames: string[]
  ): KStream<K2, V2>;
  process<K2, V2>(
    supplier: ProcessorSupplier<K, V, K2, V2>,
    ...rest: (string | Named)[]
  ): KStream<K2, V2> {
    return this.derive(this.customNode(supplier, rest, false), undefined, undefined);
  }

  /**
   * A custom processor that keeps keys (Kafka's processValues()): like process(), but
   * forwarding another key than the input record's throws, and no repartition follows.
   */
  processValues<V2>(
    supplier: FixedKeyProcessorSupplier<K, V, V2>,
    ...storeNames: string[]
  ): KStream<K, V2>;
  processValues<V2>(
    supplier: FixedKeyProcessorSupplier<K, V, V2>,
    named: Named,
    ...storeNames: string[]
  ): KStream<K, V2>;
  processValues<V2>(
    supplier: FixedKeyProcessorSupplier<K, V, V2>,
    ...rest: (string | Named)[]
  ): KStream<K, V2> {
    return this.derive(this.customNode(supplier, rest, true), this.keySerde, undefined);
  }

  private customNode(
    supplier: () => Processor<K, V, unknown, unknown>,
    rest: readonly (string | Named)[],
    fixedKey: boolean,
  ): GraphNode {
    return customProcessNode(
      this.context,
      supplier as () => Processor<unknown, unknown, unknown, unknown>,
      rest,
      fixedKey,
      { keySerde: this.keySerde as Serde<unknown>, valueSerde: this.valueSerde as Serde<unknown> },
    );
  }

  /** Stream-stream inner join: pairs of records with equal keys within `windows`. */
  join<V2, VR>(
    other: KStream<K, V2>,
    joiner: (left: V, right: V2) => VR,
    windows: JoinWindows,
    joined?: Joined<K, V, V2>,
  ): KStream<K, VR>;
  /** Stream-table inner join: each record with the table's current value for its key. */
  join<VT, VR>(
    table: KTable<K, VT>,
    joiner: (left: V, right: VT) => VR,
    joined?: Joined<K, V, VT>,
  ): KStream<K, VR>;
  /** Stream-global-table inner join: each record with the global table's current value
   * for the key `keySelector` picks from it; the result keeps the stream's key. */
  join<GK, GV, VR>(
    table: GlobalKTable<GK, GV>,
    keySelector: (key: K, value: V) => GK,
    joiner: (left: V, right: GV) => VR,
    named?: Named,
  ): KStream<K, VR>;
  join<V2, VR>(
    other: KStream<K, V2> | KTable<K, V2> | GlobalKTable<unknown, V2>,
    joiner: ((left: V, right: V2) => VR) | ((key: K, value: V) => unknown),
    windowsOrJoined?: JoinWindows | Joined<K, V, V2> | ((left: V, right: V2) => VR),
    joined?: Joined<K, V, V2> | Named,
  ): KStream<K, VR> {
    return this.joinWith("inner", other, joiner, windowsOrJoined, joined);
  }

  /** Stream-stream left join: unmatched left records are emitted with null once their
   * window has closed. */
  leftJoin<V2, VR>(
    other: KStream<K, V2>,
    joiner: (left: V, right: V2 | null) => VR,
    windows: JoinWindows,
    joined?: Joined<K, V, V2>,
  ): KStream<K, VR>;
  /** Stream-table left join: records whose key the table lacks are joined with null. */
  leftJoin<VT, VR>(
    table: KTable<K, VT>,
    joiner: (left: V, right: VT | null) => VR,
    joined?: Joined<K, V, VT>,
  ): KStream<K, VR>;
  /** Stream-global-table left join: records whose selected key the table lacks are
   * joined with null. */
  leftJoin<GK, GV, VR>(
    table: GlobalKTable<GK, GV>,
    keySelector: (key: K, value: V) => GK,
    joiner: (left: V, right: GV | null) => VR,
    named?: Named,
  ): KStream<K, VR>;
  leftJoin<V2, VR>(
    other: KStream<K, V2> | KTable<K, V2> | GlobalKTable<unknown, V2>,
    joiner: ((left: V, right: V2 | null) => VR) | ((key: K, value: V) => unknown),
    windowsOrJoined?: JoinWindows | Joined<K, V, V2> | ((left: V, right: V2 | null) => VR),
    joined?: Joined<K, V, V2> | Named,
  ): KStream<K, VR> {
    return this.joinWith("left", other, joiner, windowsOrJoined, joined);
  }

  /** Stream-stream outer join: unmatched records of either side are emitted with a null
   * partner once their window has closed. */
  outerJoin<V2, VR>(
    other: KStream<K, V2>,
    joiner: (left: V | null, right: V2 | null) => VR,
    windows: JoinWindows,
    joined?: Joined<K, V, V2>,
  ): KStream<K, VR> {
    return streamStreamJoin(
      this,
      other,
      "outer",
      joiner as ValueJoiner<unknown, unknown, VR>,
      windows,
      joined ?? {},
    );
  }

  /** The overloads' one body; for a global table the arguments are (keySelector, joiner,
   * named). */
  private joinWith<V2, VR>(
    type: JoinType,
    other: KStream<K, V2> | KTable<K, V2> | GlobalKTable<unknown, V2>,
    joiner: unknown,
    windowsOrJoined: unknown,
    joinedOrNamed: unknown,
  ): KStream<K, VR> {
    const joined = joinedOrNamed as Joined<K, V, V2> | undefined;
    if (other instanceof GlobalKTable) {
      return streamGlobalTableJoin(
        this,
        other,
        type === "left",
        joiner as (key: K, value: V) => unknown,
        windowsOrJoined as ValueJoiner<unknown, unknown, VR>,
        joined ?? {},
      );
    }
    const j = joiner as ValueJoiner<unknown, unknown, VR>;
    if (windowsOrJoined instanceof JoinWindows) {
      if (!(other instanceof KStream)) {
        throw new StreamsArgumentError("a join with JoinWindows takes a KStream, not a KTable");
      }
      return streamStreamJoin(this, other, type, j, windowsOrJoined, joined ?? {});
    }
    if (other instanceof KStream) {
      throw new StreamsArgumentError(
        "a stream-stream join needs JoinWindows: join(other, joiner, JoinWindows.ofTimeDifferenceWithNoGrace(ms))",
      );
    }
    return streamTableJoin(this, other, type === "left", j, windowsOrJoined ?? {});
  }

  private derive<K2, V2>(
    node: GraphNode,
    keySerde: Serde<K2> | undefined,
    valueSerde: Serde<V2> | undefined,
  ): KStream<K2, V2> {
    this.context.add(node, [this.node]);
    return new KStream(this.context, node, keySerde, valueSerde);
  }
}
