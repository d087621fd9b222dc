import { ProcessorGraphNode } from "../graph/processor-graph-node.js";
import { BranchProcessor, PassThroughProcessor } from "../operators/stream-processors.js";
import { StreamsArgumentError } from "../errors.js";
import type { KStream } from "./kstream.js";
import type { Branched, Named } from "./options.js";

/**
 * split(): a KSTREAM-BRANCH processor whose children are the branches, each a pass-through
 * named `<split name><branch name>`. A record goes to the first branch whose predicate
 * holds. The branch list is read when a task starts, so branches added here reach every
 * task.
 */
export class BranchedKStream<K, V> {
  private readonly prefix: string;
  private readonly branchNode: ProcessorGraphNode;
  private readonly predicates: ((key: K, value: V) => boolean)[] = [];
  private readonly children: string[] = [];
  private defaultChild: string | null = null;
  private readonly result = new Map<string, KStream<K, V>>();
  private done = false;

  /** @internal */
  constructor(
    private readonly parent: KStream<K, V>,
    named?: Named,
  ) {
    const name = parent.context.name("KSTREAM-BRANCH-", named);
    this.prefix = named?.name ?? `${name}-`;
    const predicates = this.predicates;
    const children = this.children;
    this.branchNode = new ProcessorGraphNode(
      name,
      () => new BranchProcessor(predicates, children, this.defaultChild),
    );
    parent.context.add(this.branchNode, [parent.node]);
  }

  branch(predicate: (key: K, value: V) => boolean, branched: Branched<K, V> = {}): this {
    this.checkOpen();
    const name = this.add(branched, String(this.predicates.length + 1));
    this.predicates.push(predicate);
    this.children.push(name);
    return this;
  }

  /** Records no predicate took go here; returns every branch by name. */
  defaultBranch(branched: Branched<K, V> = {}): Map<string, KStream<K, V>> {
    this.checkOpen();
    this.defaultChild = this.add(branched, "0");
    this.done = true;
    return this.result;
  }

  /** Records no predicate took are dropped; returns every branch by name. */
  noDefaultBranch(): Map<string, KStream<K, V>> {
    this.checkOpen();
    this.done = true;
    return this.result;
  }

  private add(branched: Branched<K, V>, fallback: string): string {
    const name = `${this.prefix}${branched.name ?? fallback}`;
    if (this.result.has(name) || this.children.includes(name)) {
      throw new StreamsArgumentError(`split() already has a branch named '${name}'`);
    }
    const ctx = this.parent.context;
    const node = ctx.add(new ProcessorGraphNode(name, () => new PassThroughProcessor()), [
      this.branchNode,
    ]);
    const stream = new ctx.classes.KStream<K, V>(
      ctx,
      node,
      this.parent.keySerde,
      this.parent.valueSerde,
    );
    if (branched.chain === undefined) this.result.set(name, stream);
    else {
      const chained = branched.chain(stream);
      if (chained) this.result.set(name, chained);
    }
    return name;
  }

  private checkOpen(): void {
    if (this.done) {
      throw new StreamsArgumentError(
        "this split() is finished: defaultBranch()/noDefaultBranch() was already called",
      );
    }
  }
}
