import type { ValueJoiner } from "../joins/join-type.js";
import { StreamGlobalTableJoinProcessor } from "../joins/stream-global-table-join-processor.js";
import type { TopologyBuilder } from "../topology/topology-builder.js";
import { GraphNode } from "./graph-node.js";

/**
 * A stream-global-table join: one processor on the stream's edge that reads the global
 * store with a key the selector picks from each record. It keeps the stream's key and
 * partitioning, so it needs no repartition topic and no co-partitioning.
 */
export class StreamGlobalTableJoinNode extends GraphNode {
  constructor(
    name: string,
    private readonly globalStore: string,
    private readonly left: boolean,
    private readonly keySelector: (key: unknown, value: unknown) => unknown,
    private readonly joiner: ValueJoiner<unknown, unknown, unknown>,
  ) {
    super(name);
  }

  writeTo(builder: TopologyBuilder, parentOutputs: readonly string[]): void {
    const { globalStore, left, keySelector, joiner } = this;
    builder.addProcessor(
      this.name,
      () => new StreamGlobalTableJoinProcessor(globalStore, left, keySelector, joiner),
      [parentOutputs[0] as string],
      `${left ? "left" : "inner"} stream-global-table join with global store ${globalStore}`,
    );
    builder.connectGlobalStore(globalStore, [this.name]);
  }
}
