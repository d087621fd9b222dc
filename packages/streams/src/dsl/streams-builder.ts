import { compileGraph } from "../graph/compile-graph.js";
import type { ProcessorStateStore } from "@tributary/state";
import { GlobalTableNode } from "../graph/global-table-node.js";
import { StreamSourceNode } from "../graph/stream-source-node.js";
import { TableSourceNode } from "../graph/table-source-node.js";
import { defaultSerde, type Serde } from "../serdes.js";
import type { TimestampExtractor } from "../topology/node-spec.js";
import type { BuildOptions } from "../topology/app.js";
import type { Topology } from "../topology/topology.js";
import { StreamsArgumentError, TopologyError } from "../errors.js";
import type { StoreBuilder } from "../processor/store-builder.js";
import { GlobalKTable } from "./global-ktable.js";
import { checkName, GraphContext } from "./graph-context.js";
import { KStream } from "./kstream.js";
import { KTable } from "./ktable.js";
import type { Consumed, Materialized } from "./options.js";

/**
 * Where a topology starts: `stream()` and `table()` read topics; the streams and tables
 * they return build the rest of the logical graph. `build(applicationId)` compiles it
 * (repartition topics, sub-topologies, names). An app gets one from defineApp.
 */
export class StreamsBuilder {
  /** @internal */
  readonly context = new GraphContext({ KStream, KTable });

  stream<K = unknown, V = unknown>(
    topics: string | readonly string[],
    consumed: Consumed<K, V> = {},
  ): KStream<K, V> {
    const list = typeof topics === "string" ? [topics] : [...topics];
    if (list.length === 0) throw new StreamsArgumentError("stream() needs at least one topic");
    for (const t of list) checkName(t, "topic");
    const name = this.context.name("KSTREAM-SOURCE-", consumed);
    const node = new StreamSourceNode(
      name,
      list,
      (consumed.keySerde ?? defaultSerde()) as Serde<unknown>,
      (consumed.valueSerde ?? defaultSerde()) as Serde<unknown>,
      (consumed.timestampExtractor ?? null) as TimestampExtractor<unknown, unknown> | null,
      idleTimeoutOf(consumed),
    );
    this.context.add(node, []);
    return new KStream<K, V>(this.context, node, consumed.keySerde, consumed.valueSerde);
  }

  /**
   * Reads a changelog-style topic as a table: the latest value per key, null deleting.
   * Always materialized, in `materialized.storeName` or `<topic>-STATE-STORE-<n>`.
   */
  table<K = unknown, V = unknown>(
    topic: string,
    consumed: Consumed<K, V> = {},
    materialized: Materialized<K, V> = {},
  ): KTable<K, V> {
    checkName(topic, "topic");
    const sourceName = this.context.name("KSTREAM-SOURCE-", consumed);
    const storeName = this.context.storeName(`${topic}-STATE-STORE-`, materialized.storeName);
    const processorName = this.context.name("KTABLE-SOURCE-");
    const keySerde = materialized.keySerde ?? consumed.keySerde;
    const valueSerde = materialized.valueSerde ?? consumed.valueSerde;
    const node = new TableSourceNode(
      sourceName,
      processorName,
      topic,
      (consumed.keySerde ?? defaultSerde()) as Serde<unknown>,
      (consumed.valueSerde ?? defaultSerde()) as Serde<unknown>,
      (consumed.timestampExtractor ?? null) as TimestampExtractor<unknown, unknown> | null,
      idleTimeoutOf(consumed),
      {
        name: storeName,
        keySerde: (keySerde ?? defaultSerde()) as Serde<unknown>,
        valueSerde: (valueSerde ?? defaultSerde()) as Serde<unknown>,
        loggingEnabled: materialized.loggingEnabled ?? true,
      },
    );
    this.context.add(node, []);
    return new KTable<K, V>(this.context, node, storeName, keySerde, valueSerde);
  }

  /**
   * Adds a store for custom processors (Kafka's addStateStore): built with `Stores`, then
   * connected to each processor that names it in `process(supplier, ...storeNames)`.
   * Processors sharing a store run in one sub-topology.
   */
  addStateStore(storeBuilder: StoreBuilder<ProcessorStateStore>): this {
    const name = storeBuilder.name;
    if (this.context.stateStores.has(name)) {
      throw new TopologyError(
        `a state store named '${name}' was already added: add each store once and name it in every process() that uses it`,
      );
    }
    this.context.stateStores.set(name, storeBuilder.draft());
    return this;
  }

  /**
   * Reads a topic as a global table: every worker holds ALL its partitions in a local
   * store (`materialized.storeName` or `<topic>-STATE-STORE-<n>`), read to the topic's end
   * before any task processes a record and kept current while they run. The topic is the
   * store's changelog (no other topic is made). Join streams to it with
   * `KStream.join(globalTable, keySelector, joiner)`.
   */
  globalTable<K = unknown, V = unknown>(
    topic: string,
    consumed: Consumed<K, V> = {},
    materialized: Materialized<K, V> = {},
  ): GlobalKTable<K, V> {
    checkName(topic, "topic");
    if (materialized.loggingEnabled === false) {
      throw new StreamsArgumentError(
        "a global table has no changelog to turn off: its topic is its changelog; leave out loggingEnabled",
      );
    }
    const sourceName = this.context.name("KSTREAM-SOURCE-", consumed);
    const storeName = this.context.storeName(`${topic}-STATE-STORE-`, materialized.storeName);
    const processorName = this.context.name("KTABLE-SOURCE-");
    const keySerde = materialized.keySerde ?? consumed.keySerde;
    const valueSerde = materialized.valueSerde ?? consumed.valueSerde;
    const node = new GlobalTableNode({
      storeName,
      topic,
      sourceName,
      processorName,
      keySerde: (keySerde ?? defaultSerde()) as Serde<unknown>,
      valueSerde: (valueSerde ?? defaultSerde()) as Serde<unknown>,
    });
    this.context.add(node, []);
    return new GlobalKTable<K, V>(this.context, node, storeName, topic, keySerde, valueSerde);
  }

  /**
   * Compiles the graph. With `partitionsOf` (a topic's partition count, undefined when
   * unknown) the joins' inputs are checked for co-partitioning here, at compile time; the
   * runtime checks again with the counts it finds.
   */
  build(applicationId: string, options: BuildOptions = {}): Topology {
    checkName(applicationId, "applicationId");
    const topology = compileGraph(this.context.nodes, applicationId, options.outputTopic);
    if (options.partitionsOf !== undefined) topology.checkCoPartitioning(options.partitionsOf);
    return topology;
  }
}

/** A source's idleTimeoutMs, checked: a number of ms >= 0, or null for the app's. */
function idleTimeoutOf(consumed: { idleTimeoutMs?: number }): number | null {
  const ms = consumed.idleTimeoutMs;
  if (ms === undefined) return null;
  if (!(Number.isFinite(ms) && ms >= 0)) {
    throw new StreamsArgumentError(
      `a source's idleTimeoutMs must be a number of ms >= 0, got ${String(ms)}`,
    );
  }
  return ms;
}
