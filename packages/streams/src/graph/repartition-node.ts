import { DropNullKeyProcessor } from "../operators/stream-processors.js";
import { repartitionTopicName } from "../topology/internal-names.js";
import type { TopologyBuilder } from "../topology/topology-builder.js";
import { GraphNode, type RepartitionRequest } from "./graph-node.js";

/**
 * A repartition topic: records leave one sub-topology through `<base>-repartition-sink`
 * and enter the next through `<base>-repartition-source`, now partitioned by their key.
 * The compiler inserts one before a key-dependent node fed by a key-changing operation;
 * `KStream.repartition()` makes one explicitly. Null keys are dropped before the sink
 * (they have no partition), as Kafka's `-repartition-filter` does.
 */
export class RepartitionNode extends GraphNode {
  constructor(
    readonly request: RepartitionRequest,
    private readonly dropNullKeys: boolean,
  ) {
    super(`${request.baseName}-repartition`);
    this.partitionedByKey = true;
  }

  override outputName(): string {
    return `${this.request.baseName}-repartition-source`;
  }

  writeTo(builder: TopologyBuilder, parentOutputs: readonly string[]): void {
    const base = this.request.baseName;
    const topic = repartitionTopicName(builder.applicationId, base);
    builder.addInternalTopic({
      name: topic,
      purpose: "repartition",
      partitions: this.request.partitions,
      cleanupPolicy: "delete",
    });
    let into = parentOutputs;
    if (this.dropNullKeys) {
      builder.addProcessor(`${base}-repartition-filter`, () => new DropNullKeyProcessor(), into);
      into = [`${base}-repartition-filter`];
    }
    const { keySerde, valueSerde } = this.request;
    builder.addSink(`${base}-repartition-sink`, topic, keySerde, valueSerde, into);
    builder.addSource(this.outputName(), [topic], keySerde, valueSerde);
  }
}
