import { Serdes } from "@tributary/log";
import { StreamsArgumentError } from "../errors.js";
import type { RepartitionRequest, StoreDraft } from "../graph/graph-node.js";
import { StreamStreamJoinNode } from "../graph/stream-stream-join-node.js";
import { StreamGlobalTableJoinNode } from "../graph/stream-global-table-join-node.js";
import { StreamTableJoinNode } from "../graph/stream-table-join-node.js";
import { bufferedSerde } from "../joins/join-buffer-serde.js";
import type { JoinType, ValueJoiner } from "../joins/join-type.js";
import { defaultSerde, type Serde } from "../serdes.js";
import type { JoinWindows } from "../windows/join-windows.js";
import type { GlobalKTable } from "./global-ktable.js";
import type { KStream } from "./kstream.js";
import type { KTable } from "./ktable.js";
import type { Joined, Named } from "./options.js";

/**
 * Builds the graph of KStream.join/leftJoin/outerJoin. Kept out of kstream.ts, which only
 * dispatches on the arguments.
 */
export function streamStreamJoin<K, V, V2, VR>(
  left: KStream<K, V>,
  right: KStream<K, V2>,
  type: JoinType,
  joiner: ValueJoiner<unknown, unknown, VR>,
  windows: JoinWindows,
  joined: Joined<K, V, V2>,
): KStream<K, VR> {
  if (right.context !== left.context) {
    throw new StreamsArgumentError("join() takes a stream from the same StreamsBuilder");
  }
  const ctx = left.context;
  const name = ctx.name(`KSTREAM-${type === "inner" ? "" : `${type.toUpperCase()}`}JOIN-`, joined);
  const keySerde = (joined.keySerde ??
    left.keySerde ??
    right.keySerde ??
    defaultSerde()) as Serde<unknown>;
  const leftValues = (joined.valueSerde ?? left.valueSerde ?? defaultSerde()) as Serde<unknown>;
  const rightValues = (joined.otherValueSerde ??
    right.valueSerde ??
    defaultSerde()) as Serde<unknown>;
  const buffer = (side: string, values: Serde<unknown>): StoreDraft => ({
    name: `${name}-${side}-store`,
    type: "window",
    keySerde,
    valueSerde: bufferedSerde(values) as Serde<unknown>,
    loggingEnabled: true,
    retentionMs: windows.retentionMs(),
    retainDuplicates: true,
  });
  const repartition = (side: string, values: Serde<unknown>): RepartitionRequest => ({
    baseName: `${name}-${side}`,
    keySerde,
    valueSerde: values,
    partitions: null,
  });
  const node = new StreamStreamJoinNode(name, {
    type,
    windows,
    joiner: joiner as ValueJoiner<unknown, unknown, unknown>,
    keySerde,
    leftBuffer: buffer("left", leftValues),
    rightBuffer: buffer("right", rightValues),
    pending:
      type === "inner"
        ? null
        : {
            name: `${name}-pending-store`,
            keySerde: Serdes.bytes() as Serde<unknown>,
            valueSerde: Serdes.bytes() as Serde<unknown>,
            loggingEnabled: true,
            inMemory: true,
          },
    leftRepartition: repartition("left", leftValues),
    rightRepartition: repartition("right", rightValues),
  });
  ctx.add(node, [left.node, right.node]);
  return new ctx.classes.KStream<K, VR>(ctx, node, joined.keySerde ?? left.keySerde, undefined);
}

export function streamTableJoin<K, V, VT, VR>(
  stream: KStream<K, V>,
  table: KTable<K, VT>,
  leftJoin: boolean,
  joiner: ValueJoiner<unknown, unknown, VR>,
  joined: Joined<K, V, VT>,
): KStream<K, VR> {
  if (table.context !== stream.context) {
    throw new StreamsArgumentError("join() takes a table from the same StreamsBuilder");
  }
  const store = table.queryableStoreName();
  if (store === null) {
    throw new StreamsArgumentError(
      "a stream-table join reads the table's store, but the table is not materialized: pass Materialized { storeName } to the operation that made it",
    );
  }
  const ctx = stream.context;
  const name = ctx.name(leftJoin ? "KSTREAM-LEFTJOIN-" : "KSTREAM-JOIN-", joined);
  const keySerde = (joined.keySerde ??
    stream.keySerde ??
    table.keySerde ??
    defaultSerde()) as Serde<unknown>;
  const node = new StreamTableJoinNode(
    name,
    store,
    leftJoin,
    joiner as ValueJoiner<unknown, unknown, unknown>,
    {
      baseName: name,
      keySerde,
      valueSerde: (joined.valueSerde ?? stream.valueSerde ?? defaultSerde()) as Serde<unknown>,
      partitions: null,
    },
  );
  ctx.add(node, [stream.node, table.node]);
  return new ctx.classes.KStream<K, VR>(ctx, node, joined.keySerde ?? stream.keySerde, undefined);
}

export function streamGlobalTableJoin<K, V, GK, GV, VR>(
  stream: KStream<K, V>,
  table: GlobalKTable<GK, GV>,
  leftJoin: boolean,
  keySelector: (key: K, value: V) => GK,
  joiner: ValueJoiner<unknown, unknown, VR>,
  named: Named,
): KStream<K, VR> {
  if (table.context !== stream.context) {
    throw new StreamsArgumentError("join() takes a global table from the same StreamsBuilder");
  }
  if (typeof keySelector !== "function" || typeof joiner !== "function") {
    throw new StreamsArgumentError(
      "a stream-global-table join takes (globalTable, keySelector, joiner): keySelector maps a stream record to the table's key",
    );
  }
  const ctx = stream.context;
  const name = ctx.name(leftJoin ? "KSTREAM-LEFTJOIN-" : "KSTREAM-JOIN-", named);
  const node = new StreamGlobalTableJoinNode(
    name,
    table.storeName,
    leftJoin,
    keySelector as (key: unknown, value: unknown) => unknown,
    joiner as ValueJoiner<unknown, unknown, unknown>,
  );
  ctx.add(node, [stream.node]);
  return new ctx.classes.KStream<K, VR>(ctx, node, stream.keySerde, undefined);
}
