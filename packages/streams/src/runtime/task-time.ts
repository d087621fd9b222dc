import type { SubTopology, Topology } from "../topology/topology.js";
import { EventTime } from "./event-time.js";
import type { TopicLayout } from "./internal-topics.js";
import { WatermarkPublisher } from "./watermark-publisher.js";

/**
 * How a task of `sub` keeps and tells event time, for the task manager and the test
 * driver alike (docs/streams-runtime.md "Event time across sub-topologies").
 */

/**
 * The event time keeper of a task reading internal topics (`internal`): the writers it
 * expects on each are the tasks of the sub-topologies writing it (as many as the layout
 * says); null for a task reading only source topics.
 */
export function eventTimeFor(
  topology: Topology,
  sub: SubTopology,
  internal: ReadonlySet<string>,
  layout: TopicLayout,
  start: { time: number; now: number },
  idleTimeoutOf: (topic: string) => number,
): EventTime | null {
  const internalIn = sub.sourceTopics.filter((t) => internal.has(t));
  if (internalIn.length === 0) return null;
  const writersOf = (topic: string): string[] =>
    topology.subtopologies
      .filter((s) => s.sinkTopics.includes(topic))
      .flatMap((s) => {
        const n = layout.tasksPerSubtopology.get(s.id) ?? 0;
        return Array.from({ length: n }, (_, p) => s.taskId(p));
      });
  return new EventTime(
    {
      internal: internalIn.map((topic) => ({ topic, writers: writersOf(topic) })),
      sources: sub.sourceTopics.filter((t) => !internal.has(t)),
    },
    start.time,
    start.now,
    idleTimeoutOf,
  );
}

/** The publisher of a task whose sub-topology writes internal topics; null if none. */
export function watermarkPublisherFor(
  sub: SubTopology,
  partition: number,
  internal: ReadonlySet<string>,
  layout: TopicLayout,
): WatermarkPublisher | null {
  const topics = sub.sinkTopics.filter((t) => internal.has(t));
  if (topics.length === 0) return null;
  return new WatermarkPublisher(
    sub.id,
    partition,
    topics.map((topic) => ({ topic, partitions: layout.partitions.get(topic) ?? 0 })),
  );
}
