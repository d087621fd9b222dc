import type { Serde } from "../serdes.js";
import type { TopologyBuilder } from "../topology/topology-builder.js";
import { GraphNode } from "./graph-node.js";

export class SinkNode extends GraphNode {
  constructor(
    name: string,
    readonly topic: string,
    readonly keySerde: Serde<unknown>,
    readonly valueSerde: Serde<unknown>,
  ) {
    super(name);
  }

  writeTo(builder: TopologyBuilder, parentOutputs: readonly string[]): void {
    builder.addSink(this.name, this.topic, this.keySerde, this.valueSerde, parentOutputs);
  }
}
