import type { GlobalStoreSpec } from "../topology/global-store-spec.js";
import type { TopologyBuilder } from "../topology/topology-builder.js";
import { GraphNode } from "./graph-node.js";

/** globalTable(): a global store over a topic. It has no edges: joins read its store. */
export class GlobalTableNode extends GraphNode {
  constructor(private readonly spec: GlobalStoreSpec) {
    super(spec.processorName);
  }

  writeTo(builder: TopologyBuilder): void {
    builder.addGlobalStore(this.spec);
  }
}
