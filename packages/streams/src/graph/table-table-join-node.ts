import type { JoinType, ValueJoiner } from "../joins/join-type.js";
import { TableJoinMergeProcessor } from "../joins/table-join-merge-processor.js";
import { TableTableJoinProcessor } from "../joins/table-table-join-processor.js";
import type { TopologyBuilder } from "../topology/topology-builder.js";
import { GraphNode, type StoreDraft, storeSpec } from "./graph-node.js";

/**
 * A table-table join: `<name>-left` joins the left table's updates with the right table's
 * store, `<name>-right` the other way round, and `<name>` merges them (materializing the
 * result when asked). Both tables must be materialized and co-partitioned.
 */
export class TableTableJoinNode extends GraphNode {
  constructor(
    name: string,
    private readonly leftStore: string,
    private readonly rightStore: string,
    private readonly type: JoinType,
    private readonly joiner: ValueJoiner<unknown, unknown, unknown>,
    private readonly result: StoreDraft | null,
  ) {
    super(name);
    this.partitionedByKey = true;
  }

  writeTo(builder: TopologyBuilder, parentOutputs: readonly string[]): void {
    const { leftStore, rightStore, type, joiner } = this;
    const left = `${this.name}-left`;
    const right = `${this.name}-right`;
    const detail = `${type} table-table join of ${leftStore} and ${rightStore}`;
    builder.addProcessor(
      left,
      () => new TableTableJoinProcessor(true, rightStore, type, joiner),
      [parentOutputs[0] as string],
      `${detail}, left side`,
    );
    builder.connectStore(rightStore, [left]);
    builder.addProcessor(
      right,
      () => new TableTableJoinProcessor(false, leftStore, type, joiner),
      [parentOutputs[1] as string],
      `${detail}, right side`,
    );
    builder.connectStore(leftStore, [right]);
    const resultStore = this.result?.name ?? null;
    builder.addProcessor(
      this.name,
      () => new TableJoinMergeProcessor(resultStore),
      [left, right],
      detail,
    );
    if (this.result !== null) {
      builder.addStore(storeSpec(this.result, builder.applicationId), [this.name]);
    }
    builder.addCoPartitionGroup(this.name, [left, right]);
  }
}
