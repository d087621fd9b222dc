import type { SubTopology, Topology } from "./topology.js";

/**
 * How event time flows through one sub-topology on a worker, in words, for describe()
 * (docs/streams-runtime.md "Event time across sub-topologies"): a task reading internal
 * topics takes the minimum of its upstream tasks' watermarks (and of its source
 * partitions' times), leaving idle inputs out; a task reading only source topics keeps
 * stream time as the largest record time seen; a task writing internal topics publishes
 * its time to them as watermarks.
 */
export function eventTimeFlow(topology: Topology, sub: SubTopology): string {
  const internal = new Set(
    topology.internalTopics.filter((t) => t.purpose === "repartition").map((t) => t.name),
  );
  const reads = sub.sourceTopics.filter((t) => internal.has(t));
  const sources = sub.sourceTopics.filter((t) => !internal.has(t));
  let text: string;
  if (reads.length === 0) {
    text = "stream time: the largest record time of its input partitions";
  } else {
    const parts = reads.map((t) => {
      const writers = topology.subtopologies.filter((s) => s.sinkTopics.includes(t));
      return `every task of sub-topology ${writers.map((s) => s.id).join(", ")} via ${t}`;
    });
    if (sources.length > 0) parts.push(`the record time of ${sources.join(", ")}`);
    text = `min of the watermarks of ${parts.join(" and ")} (idle inputs left out)`;
  }
  const writes = sub.sinkTopics.filter((t) => internal.has(t));
  if (writes.length > 0) text += `; publishes its watermark to ${writes.join(", ")}`;
  return text;
}
