import type { AnyProcessorSupplier } from "../topology/node-spec.js";
import type { TopologyBuilder } from "../topology/topology-builder.js";
import { GraphNode, type RepartitionRequest, type StoreDraft, storeSpec } from "./graph-node.js";

export interface ProcessorNodeOptions {
  keyChanging?: boolean;
  stores?: StoreDraft[];
  /** Set for stateful nodes that need their input partitioned by key. */
  repartition?: RepartitionRequest;
  /** Shown by describe() (windows, suppression). */
  description?: string;
}

/** One processor, stateless or with stores: most DSL operations are this. */
export class ProcessorGraphNode extends GraphNode {
  private readonly stores: StoreDraft[];
  private readonly repartition: RepartitionRequest | null;
  private readonly description: string | undefined;

  constructor(
    name: string,
    readonly supplier: AnyProcessorSupplier,
    options: ProcessorNodeOptions = {},
  ) {
    super(name);
    this.keyChanging = options.keyChanging ?? false;
    this.stores = options.stores ?? [];
    this.repartition = options.repartition ?? null;
    this.description = options.description;
  }

  override repartitionFor(): RepartitionRequest | null {
    return this.repartition;
  }

  writeTo(builder: TopologyBuilder, parentOutputs: readonly string[]): void {
    builder.addProcessor(this.name, this.supplier, parentOutputs, this.description);
    for (const s of this.stores) builder.addStore(storeSpec(s, builder.applicationId), [this.name]);
  }
}
