import type { Serde } from "../serdes.js";
import type { TimestampExtractor } from "../topology/node-spec.js";
import type { KStream } from "./kstream.js";

/**
 * Per-operation options, Kafka Streams' config objects as plain TypeScript objects. A
 * serde left out is the one the stream already carries, else MessagePack. A `name`
 * replaces the generated node name (`KSTREAM-MAP-0000000001`) and, where the operation
 * makes a topic or store, that topic's or store's name — names that stay put when the
 * topology changes, which is what keeps state and offsets across redeploys.
 */
export interface Named {
  name?: string;
}

/** How stream()/table() read a topic. */
export interface Consumed<K, V> extends Named {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  timestampExtractor?: TimestampExtractor<K, V>;
  /**
   * This source's partitions stop holding event time back after this long with no record
   * while caught up (default: the app's `idleTimeoutMs`; docs/streams-runtime.md "Idle
   * inputs").
   */
  idleTimeoutMs?: number;
}

/** How to() writes a topic. */
export interface Produced<K, V> extends Named {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
}

/** How groupBy()/groupByKey() records cross a repartition topic: `name` names it
 * (`<applicationId>-<name>-repartition`). */
export interface Grouped<K, V> extends Named {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
}

/** An explicit repartition(). */
export interface Repartitioned<K, V> extends Named {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  numberOfPartitions?: number;
}

/** How a KTable is stored: `storeName` names the store (and its changelog topic,
 * `<applicationId>-<storeName>-changelog`) and makes it queryable by that name. */
export interface Materialized<K, V> {
  storeName?: string;
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  /** Write every change to the changelog topic (default true): turn off only for state
   * that can be rebuilt from input. */
  loggingEnabled?: boolean;
}

/** One branch of split(). */
export interface Branched<K, V> {
  /** The branch's key in the result map is the split's name followed by this (default:
   * its position, from 1; the default branch is "0"). */
  name?: string;
  /** Applied to the branch's stream; what it returns becomes the map's entry (none if
   * it returns nothing). */
  chain?: (stream: KStream<K, V>) => KStream<K, V> | undefined;
}

/** How a join's inputs are read and its stores and repartition topics named: `name`
 * names the join (`<name>-left-store`, `<applicationId>-<name>-left-repartition`, …). */
export interface Joined<K, V, V2> extends Named {
  keySerde?: Serde<K>;
  /** The left (this) stream's values. */
  valueSerde?: Serde<V>;
  /** The right (other) stream's values. */
  otherValueSerde?: Serde<V2>;
}
