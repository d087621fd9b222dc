import { StreamsArgumentError, TopologyError } from "../errors.js";
import { CustomProcessorNode } from "../graph/custom-processor-node.js";
import type { Processor } from "../processor/processor.js";
import { ProcessorAdapter } from "../processor/processor-adapter.js";
import { defaultSerde, type Serde } from "../serdes.js";
import type { GraphContext } from "./graph-context.js";
import type { Named } from "./options.js";

/**
 * The graph node of `KStream.process` / `processValues`: `rest` is `[named?,
 * ...storeNames]`, each store added before with `StreamsBuilder.addStateStore`.
 */
export function customProcessNode(
  context: GraphContext,
  supplier: () => Processor<unknown, unknown, unknown, unknown>,
  rest: readonly (string | Named)[],
  fixedKey: boolean,
  serdes: { keySerde: Serde<unknown> | undefined; valueSerde: Serde<unknown> | undefined },
): CustomProcessorNode {
  const op = fixedKey ? "processValues" : "process";
  if (typeof supplier !== "function") {
    throw new StreamsArgumentError(
      `${op}() takes a supplier, a function returning a new processor per task (() => new MyProcessor()), got ${typeof supplier}`,
    );
  }
  const named = rest.length > 0 && typeof rest[0] === "object" ? (rest[0] as Named) : {};
  const storeNames = (typeof rest[0] === "object" ? rest.slice(1) : rest) as unknown[];
  const name = context.name(fixedKey ? "KSTREAM-PROCESSVALUES-" : "KSTREAM-PROCESSOR-", named);
  const drafts = storeNames.map((s) => {
    if (typeof s !== "string") {
      throw new StreamsArgumentError(
        `${op}('${name}'): store names come after the supplier (and an optional { name }) as strings, got ${typeof s}`,
      );
    }
    const draft = context.stateStores.get(s);
    if (draft === undefined) {
      const added = [...context.stateStores.keys()];
      throw new TopologyError(
        `${op}('${name}') names store '${s}', which was not added to the builder (added: ${added.length === 0 ? "none" : added.join(", ")}): call builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore('${s}'), keySerde, valueSerde)) (or a window or session store builder) before ${op}()`,
      );
    }
    return draft;
  });
  return new CustomProcessorNode(
    name,
    ProcessorAdapter.supplier(supplier, name, fixedKey),
    drafts,
    fixedKey,
    {
      baseName: name,
      keySerde: serdes.keySerde ?? defaultSerde(),
      valueSerde: serdes.valueSerde ?? defaultSerde(),
      partitions: null,
    },
  );
}
