import type { Topology } from "../topology/topology.js";
import { TopologyBuilder } from "../topology/topology-builder.js";
import type { GraphNode } from "./graph-node.js";
import { RepartitionNode } from "./repartition-node.js";

/**
 * Compiles the logical graph into a Topology:
 * 1. a node is "re-keyed" when it changes keys, or any parent is re-keyed, unless it
 *    partitions by key itself (a source, a repartition topic);
 * 2. on every edge into a node that needs key-partitioned input (repartitionFor) from a
 *    re-keyed parent, a repartition topic is inserted — and nowhere else (mapValues,
 *    filter, peek after a source keep the partitioning);
 * 3. nodes write themselves into the topology builder in creation order, which is
 *    topological (a node is made after its parents), so the result — names, sub-topology
 *    ids — depends only on the DSL calls. The graph itself is not changed.
 */
export function compileGraph(
  nodes: readonly GraphNode[],
  applicationId: string,
  outputTopic?: (topic: string) => string,
): Topology {
  const rekeyed = new Map<GraphNode, boolean>();
  const isRekeyed = (n: GraphNode): boolean => {
    let r = rekeyed.get(n);
    if (r === undefined) {
      r = !n.partitionedByKey && (n.keyChanging || n.parents.some(isRekeyed));
      rekeyed.set(n, r);
    }
    return r;
  };
  const builder = new TopologyBuilder(applicationId);
  for (const n of nodes) {
    const outputs = n.parents.map((p, i) => {
      const request = n.repartitionFor(i);
      if (request === null || !isRekeyed(p)) return p.outputName();
      const repartition = new RepartitionNode(request, true);
      repartition.writeTo(builder, [p.outputName()]);
      return repartition.outputName();
    });
    n.writeTo(builder, outputs);
  }
  return builder.build(outputTopic);
}
