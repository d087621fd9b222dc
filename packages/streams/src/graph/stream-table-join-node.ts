import { StreamTableJoinProcessor } from "../joins/stream-table-join-processor.js";
import type { ValueJoiner } from "../joins/join-type.js";
import type { TopologyBuilder } from "../topology/topology-builder.js";
import { GraphNode, type RepartitionRequest } from "./graph-node.js";

/**
 * A stream-table join: one processor on the stream's edge that reads the table's store
 * (so stream and table land in one sub-topology, and must be co-partitioned). Parent 0 is
 * the stream, parent 1 the table (linked for lineage; only its store is used). A re-keyed
 * stream gets a repartition topic `<applicationId>-<name>-repartition` first.
 */
export class StreamTableJoinNode extends GraphNode {
  constructor(
    name: string,
    private readonly tableStore: string,
    private readonly left: boolean,
    private readonly joiner: ValueJoiner<unknown, unknown, unknown>,
    private readonly streamRepartition: RepartitionRequest,
  ) {
    super(name);
    this.partitionedByKey = true;
  }

  override repartitionFor(parentIndex: number): RepartitionRequest | null {
    return parentIndex === 0 ? this.streamRepartition : null;
  }

  writeTo(builder: TopologyBuilder, parentOutputs: readonly string[]): void {
    const { tableStore, left, joiner } = this;
    builder.addProcessor(
      this.name,
      () => new StreamTableJoinProcessor(tableStore, left, joiner),
      [parentOutputs[0] as string],
      `${left ? "left" : "inner"} stream-table join with table store ${tableStore}`,
    );
    builder.connectStore(tableStore, [this.name]);
    builder.addCoPartitionGroup(this.name, [this.name, parentOutputs[1] as string]);
  }
}
