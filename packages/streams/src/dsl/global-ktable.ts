import type { GraphNode } from "../graph/graph-node.js";
import type { Serde } from "../serdes.js";
import type { GraphContext } from "./graph-context.js";

/**
 * A table every worker holds in full (Kafka's GlobalKTable): all partitions of its topic,
 * not a share, so a stream joins it on any key its records carry (`KStream.join(table,
 * keySelector, joiner)`) with no repartition and no co-partitioning. Made by
 * `StreamsBuilder.globalTable`; it has no operations of its own.
 */
export class GlobalKTable<K, V> {
  /** @internal */
  constructor(
    readonly context: GraphContext,
    readonly node: GraphNode,
    readonly storeName: string,
    readonly topic: string,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
  ) {}

  /** The store holding this table on every worker. */
  queryableStoreName(): string {
    return this.storeName;
  }
}
