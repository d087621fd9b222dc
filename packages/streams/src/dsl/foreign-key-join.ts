import { StreamsArgumentError } from "../errors.js";
import { ForeignKeyJoinNode } from "../graph/foreign-key-join-node.js";
import type { GraphNode } from "../graph/graph-node.js";
import type { ValueJoiner } from "../joins/join-type.js";
import { defaultSerde, type Serde } from "../serdes.js";
import type { GraphContext } from "./graph-context.js";
import type { Materialized, Named } from "./options.js";

/** What the join needs of each table (a KTable has it; not imported, so no cycle). */
export interface JoinedTable<K, V> {
  readonly context: GraphContext;
  readonly node: GraphNode;
  readonly keySerde: Serde<K> | undefined;
  readonly valueSerde: Serde<V> | undefined;
  queryableStoreName(): string | null;
}

/**
 * Builds KTable.join/leftJoin(other, foreignKeyExtractor, joiner): a join of each left row
 * with the right row whose key its value names (KIP-213). Both tables must be
 * materialized; the result is a table keyed like the left one, materialized in
 * `materialized.storeName` or `KTABLE-FK-JOIN-OUTPUT-STATE-STORE-<n>`. Returns the join's
 * node (added to the graph) and the result store, for the caller to make the KTable.
 */
export function foreignKeyJoin<K, V, KO, VO, VR>(
  left: JoinedTable<K, V>,
  right: JoinedTable<KO, VO>,
  leftJoin: boolean,
  foreignKey: (value: V) => KO | null,
  joiner: ValueJoiner<V, VO | null, VR>,
  materialized: Materialized<K, VR> = {},
  named: Named = {},
): { node: ForeignKeyJoinNode; resultStore: string } {
  if (right.context !== left.context) {
    throw new StreamsArgumentError("join() takes a table from the same StreamsBuilder");
  }
  if (typeof foreignKey !== "function" || typeof joiner !== "function") {
    throw new StreamsArgumentError(
      "a foreign-key join takes (other, foreignKeyExtractor, joiner): the extractor maps a left value to the right table's key",
    );
  }
  const leftStore = left.queryableStoreName();
  const rightStore = right.queryableStoreName();
  if (leftStore === null || rightStore === null) {
    throw new StreamsArgumentError(
      `a foreign-key join reads both tables' stores, but the ${leftStore === null ? "left" : "right"} table is not materialized: pass Materialized { storeName } to the operation that made it`,
    );
  }
  const ctx = left.context;
  const name = ctx.name(leftJoin ? "KTABLE-FK-LEFTJOIN-" : "KTABLE-FK-JOIN-", named);
  const resultStore = ctx.storeName("KTABLE-FK-JOIN-OUTPUT-STATE-STORE-", materialized.storeName);
  const leftKeySerde = (left.keySerde ?? defaultSerde()) as Serde<unknown>;
  const node = new ForeignKeyJoinNode(name, {
    leftJoin,
    foreignKey: foreignKey as (value: unknown) => unknown,
    joiner: joiner as ValueJoiner<unknown, unknown, unknown>,
    leftStore,
    rightStore,
    leftKeySerde,
    leftValueSerde: (left.valueSerde ?? defaultSerde()) as Serde<unknown>,
    foreignKeySerde: (right.keySerde ?? defaultSerde()) as Serde<unknown>,
    rightValueSerde: (right.valueSerde ?? defaultSerde()) as Serde<unknown>,
    result: {
      name: resultStore,
      keySerde: (materialized.keySerde ?? leftKeySerde) as Serde<unknown>,
      valueSerde: (materialized.valueSerde ?? defaultSerde()) as Serde<unknown>,
      loggingEnabled: materialized.loggingEnabled ?? true,
    },
  });
  ctx.add(node, [left.node, right.node]);
  return { node, resultStore };
}
