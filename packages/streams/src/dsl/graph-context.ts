import { StreamsArgumentError } from "../errors.js";
import type { GraphNode, StoreDraft } from "../graph/graph-node.js";
import { NameGenerator, nameProblem } from "../topology/internal-names.js";
import type { KStream } from "./kstream.js";
import type { KTable } from "./ktable.js";
import type { Named } from "./options.js";

/**
 * The DSL's classes that the others construct. They return one another (KStream.groupBy
 * gives a KGroupedStream whose aggregate gives a KTable whose toStream gives a KStream),
 * so a class that would close that circle makes the other through its context instead of
 * importing it: the builder binds these, and no DSL module imports another in a cycle.
 */
export interface DslClasses {
  readonly KStream: typeof KStream;
  readonly KTable: typeof KTable;
}

/**
 * The logical graph under construction, shared by a builder and every stream and table
 * made from it: nodes in creation order, the name counter, and the DSL's classes.
 */
export class GraphContext {
  readonly nodes: GraphNode[] = [];
  /** Stores added with `addStateStore`, for custom processors to name. */
  readonly stateStores = new Map<string, StoreDraft>();
  private readonly names = new NameGenerator();

  constructor(readonly classes: DslClasses) {}

  /** The user's name, else a generated `<prefix><10-digit index>`. */
  name(prefix: string, options?: Named): string {
    if (options?.name !== undefined) return checkName(options.name, "name");
    return this.names.next(prefix);
  }

  /** A store name: the user's (checked, since it names the changelog topic) or generated. */
  storeName(prefix: string, storeName: string | undefined): string {
    if (storeName !== undefined) return checkName(storeName, "store name");
    return this.names.next(prefix);
  }

  add<N extends GraphNode>(node: N, parents: readonly GraphNode[]): N {
    for (const p of parents) {
      p.children.push(node);
      node.parents.push(p);
    }
    this.nodes.push(node);
    return node;
  }
}

export function checkName(name: string, what: string): string {
  const problem = nameProblem(name);
  if (problem !== null) {
    throw new StreamsArgumentError(
      `${what} '${name}' ${problem}: it becomes part of topic names, which follow Kafka's rules`,
    );
  }
  return name;
}
