import type { Serde } from "../serdes.js";
import type { TimestampExtractor } from "../topology/node-spec.js";
import type { TopologyBuilder } from "../topology/topology-builder.js";
import { GraphNode } from "./graph-node.js";

export class StreamSourceNode extends GraphNode {
  constructor(
    name: string,
    readonly topics: readonly string[],
    readonly keySerde: Serde<unknown>,
    readonly valueSerde: Serde<unknown>,
    readonly timestampExtractor: TimestampExtractor<unknown, unknown> | null,
    readonly idleTimeoutMs: number | null,
  ) {
    super(name);
    this.partitionedByKey = true;
  }

  writeTo(builder: TopologyBuilder): void {
    builder.addSource(
      this.name,
      this.topics,
      this.keySerde,
      this.valueSerde,
      this.timestampExtractor,
      { idleTimeoutMs: this.idleTimeoutMs },
    );
  }
}
