import type { Consumer } from "@tributary/log";
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

/** What a task committed about time: its stream time and its writers' watermarks. */
export interface CommittedTime {
  time: number;
  /** EventTime.encodeWriters' vector without its ";w=" ("" when none). */
  writers: string;
}

/*
 * Offset commit metadata of a task's input partitions (the task's stream time then, and
 * for a task reading internal topics its writers' watermarks, see EventTime):
 *   Metadata => "st=" streamTime:decimal ms [";w=" writers]
 * Anything else (another tool's metadata, none) reads as "not known": -1.
 */
export function encodeStreamTime(time: number, et: EventTime | null): string | undefined {
  const writers = et?.encodeWriters() ?? "";
  if (time < 0 && writers === "") return undefined;
  return `st=${time}${writers}`;
}

function decodeStreamTime(metadata: string | undefined): CommittedTime {
  if (metadata === undefined || !metadata.startsWith("st=")) return { time: -1, writers: "" };
  const sep = metadata.indexOf(";w=");
  const t = Number(metadata.slice(3, sep < 0 ? undefined : sep));
  return {
    time: Number.isSafeInteger(t) && t >= 0 ? t : -1,
    writers: sep < 0 ? "" : metadata.slice(sep + 3),
  };
}

/**
 * The stream time committed with a task's input offsets (the largest of its partitions'),
 * or -1. Only tasks that keep state care: windows and joins decide what is late by it, so
 * a restarted task must not start over from -1 and let through records an uninterrupted
 * run drops (Kafka commits partition time the same way).
 */
export async function committedTaskTime(
  sub: SubTopology,
  partition: number,
  internalTopics: ReadonlySet<string>,
  consumer: Consumer,
): Promise<CommittedTime> {
  const keepsTime =
    sub.stores.length > 0 ||
    sub.sourceTopics.some((t) => internalTopics.has(t)) ||
    sub.sinkTopics.some((t) => internalTopics.has(t));
  if (!keepsTime) return { time: -1, writers: "" };
  const tps = sub.sourceTopics.map((topic) => ({ topic, partition }));
  let best: CommittedTime = { time: -1, writers: "" };
  for (const c of await consumer.committed(tps)) {
    const d = decodeStreamTime(c.metadata);
    if (d.time > best.time || (d.time === best.time && d.writers.length > best.writers.length)) {
      best = d;
    }
  }
  return best;
}
