import { TableSourceProcessor } from "../operators/table-processors.js";
import type { Serde } from "../serdes.js";
import type { TimestampExtractor } from "../topology/node-spec.js";
import type { TopologyBuilder } from "../topology/topology-builder.js";
import { GraphNode, type StoreDraft, storeSpec } from "./graph-node.js";

/** table(): a source and the KTABLE-SOURCE processor that keeps the latest value per key. */
export class TableSourceNode extends GraphNode {
  constructor(
    readonly sourceName: string,
    processorName: string,
    readonly topic: string,
    readonly keySerde: Serde<unknown>,
    readonly valueSerde: Serde<unknown>,
    readonly timestampExtractor: TimestampExtractor<unknown, unknown> | null,
    readonly idleTimeoutMs: number | null,
    readonly store: StoreDraft,
  ) {
    super(processorName);
    this.partitionedByKey = true;
  }

  writeTo(builder: TopologyBuilder): void {
    builder.addSource(
      this.sourceName,
      [this.topic],
      this.keySerde,
      this.valueSerde,
      this.timestampExtractor,
      { table: true, idleTimeoutMs: this.idleTimeoutMs },
    );
    const storeName = this.store.name;
    builder.addProcessor(this.name, () => new TableSourceProcessor(storeName), [this.sourceName]);
    builder.addStore(storeSpec(this.store, builder.applicationId), [this.name]);
  }
}
