import type { StoreSpec } from "../topology/node-spec.js";
import type { TopologyBuilder } from "../topology/topology-builder.js";
import type { AnyProcessorSupplier } from "../topology/node-spec.js";
import { GraphNode, type RepartitionRequest, type StoreDraft, storeSpec } from "./graph-node.js";

/** One spec object per store per topology: a store shared by processors is added once. */
const specs = new WeakMap<TopologyBuilder, Map<string, StoreSpec>>();

/**
 * A custom processor (`process` / `processValues`) and the stores added with
 * `addStateStore` that it names. Stateful, it needs input partitioned by key (its
 * stores hold one partition each), so a key change upstream puts a repartition topic in
 * front of it; `process` may change keys, `processValues` may not.
 */
export class CustomProcessorNode extends GraphNode {
  constructor(
    name: string,
    private readonly supplier: AnyProcessorSupplier,
    private readonly stores: readonly StoreDraft[],
    fixedKey: boolean,
    private readonly repartition: RepartitionRequest,
  ) {
    super(name);
    this.keyChanging = !fixedKey;
  }

  override repartitionFor(): RepartitionRequest | null {
    return this.stores.length > 0 ? this.repartition : null;
  }

  writeTo(builder: TopologyBuilder, parentOutputs: readonly string[]): void {
    builder.addProcessor(this.name, this.supplier, parentOutputs);
    let made = specs.get(builder);
    if (made === undefined) {
      made = new Map();
      specs.set(builder, made);
    }
    for (const draft of this.stores) {
      let spec = made.get(draft.name);
      if (spec === undefined) {
        spec = storeSpec(draft, builder.applicationId);
        made.set(draft.name, spec);
      }
      builder.addStore(spec, [this.name]);
    }
  }
}
