import { type Admin, type TopicDescription, UnknownTopicError } from "@tributary/log";
import { CopartitioningError, MissingTopicError } from "../errors.js";
import type { SubTopology, Topology } from "../topology/topology.js";
import { changelogConfigProblem, changelogTopicConfig } from "./changelog-topic-config.js";

/** What the worker needs to know about the app's topics once they exist. */
export interface TopicLayout {
  /** Partition count of every topic the app reads or writes (internal ones included). */
  partitions: ReadonlyMap<string, number>;
  /** Tasks per sub-topology: the largest partition count among its source topics. */
  tasksPerSubtopology: ReadonlyMap<number, number>;
}

/**
 * Creates the app's internal topics when missing and checks the user's, as Kafka Streams'
 * InternalTopicManager does at startup:
 * - a repartition topic gets as many partitions as the sub-topology writing it has tasks
 *   (the largest partition count among that sub-topology's source topics), unless the
 *   compiler fixed a count (`repartition({ numberOfPartitions })`) or it feeds a join,
 *   whose other inputs then set it;
 * - every join's inputs are checked for equal counts (the real ones), naming each;
 * - a changelog gets as many partitions as the sub-topology owning its store has tasks,
 *   so task `<sub>_<p>` logs to and restores from partition p, compacted (window and
 *   session stores: compact,delete with a retention, changelog-topic-config.ts); an
 *   existing window or session changelog without time retention is warned about;
 * - the dead-letter topic gets one partition and keeps its records regardless of age.
 * A sub-topology that holds stores and reads several topics needs them co-partitioned
 * (equal counts): a task's store would otherwise mix keys of different hash spaces.
 * Existing internal topics are used as they are, but a changelog with fewer partitions
 * than tasks is refused (its tasks could not log), naming the topic and both counts.
 */
export async function ensureTopics(
  admin: Admin,
  topology: Topology,
  deadLetterTopic: string,
  warn: (message: string) => void = () => {},
): Promise<TopicLayout> {
  const partitions = new Map<string, number>();
  const internal = new Map(topology.internalTopics.map((t) => [t.name, t]));
  const existing = new Set(await admin.listTopics({ includeInternal: true }));
  const describe = async (topic: string): Promise<TopicDescription | undefined> => {
    if (!existing.has(topic)) return undefined;
    try {
      return await admin.describeTopic(topic);
    } catch (e) {
      if (e instanceof UnknownTopicError) return undefined;
      throw e;
    }
  };
  const countOf = async (topic: string) => (await describe(topic))?.partitions.length;

  const userTopics = new Set([
    ...topology.sourceTopics(),
    ...topology.globalTopics(),
    ...topology.sinkTopics(),
  ]);
  const missing: string[] = [];
  for (const t of userTopics) {
    const n = await countOf(t);
    if (n === undefined) missing.push(t);
    else partitions.set(t, n);
  }
  if (missing.length > 0) {
    throw new MissingTopicError(
      `app '${topology.applicationId}' needs topic${missing.length > 1 ? "s" : ""} ${missing.map((t) => `'${t}'`).join(", ")}: create ${missing.length > 1 ? "them" : "it"} first (tributary topics create ${missing[0]} --partitions N)`,
    );
  }

  const repartition = topology.internalTopics.filter((t) => t.purpose === "repartition");
  for (const t of repartition) {
    const n = await countOf(t.name);
    if (n !== undefined) partitions.set(t.name, n);
  }
  const { tasksPerSubtopology } = resolveLayout(topology, partitions);
  for (const t of repartition) {
    if (!existing.has(t.name)) {
      await admin.createTopic(t.name, {
        partitions: partitions.get(t.name)!,
        // Retention goes by record time, and reprocessing history writes old event times
        // here: time retention would delete records before they are read. Kafka Streams
        // sets retention.ms=-1 on repartition topics too (and purges read records).
        config: { cleanupPolicy: "delete", retentionMs: -1 },
        ifNotExists: true,
      });
    }
  }

  for (const sub of topology.subtopologies) {
    const tasks = tasksPerSubtopology.get(sub.id)!;
    for (const store of sub.stores) {
      const topic = store.changelogTopic;
      if (topic === null || !internal.has(topic)) continue;
      const found = await describe(topic);
      const n = found?.partitions.length;
      if (found !== undefined) {
        const problem = changelogConfigProblem(store, found.config);
        if (problem !== null) warn(problem);
      }
      if (n === undefined) {
        await admin.createTopic(topic, {
          partitions: tasks,
          config: changelogTopicConfig(store),
          ifNotExists: true,
        });
        partitions.set(topic, tasks);
      } else if (n < tasks) {
        throw new CopartitioningError(
          `changelog '${topic}' has ${n} partitions but store '${store.name}' has ${tasks} tasks (sub-topology ${sub.id} reads ${sub.sourceTopics.map((t) => `${t}: ${partitions.get(t)}`).join(", ")}): the input grew after the changelog was made; reset the app (tributary reset --app ${topology.applicationId}) to rebuild its state`,
        );
      } else partitions.set(topic, n);
    }
  }

  if (!existing.has(deadLetterTopic)) {
    // Kept regardless of age: a dead-lettered copy keeps its record's (maybe months old)
    // timestamp, and time retention would delete it before anyone looked at it.
    await admin.createTopic(deadLetterTopic, {
      partitions: 1,
      ifNotExists: true,
      config: { cleanupPolicy: "delete", retentionMs: -1 },
    });
  }
  return { partitions, tasksPerSubtopology };
}

/**
 * The partition counts of the app's repartition topics and the tasks per sub-topology,
 * from `partitions` (every user topic's count, and the repartition topics that exist):
 * what ensureTopics creates, and what the test driver lays its tasks out by. Adds the
 * repartition topics' counts to `partitions`; throws a CopartitioningError as described
 * at ensureTopics.
 */
export function resolveLayout(topology: Topology, partitions: Map<string, number>): TopicLayout {
  // Repartition topics: resolved in rounds, since a sub-topology may read one that another
  // sub-topology writes from its own repartition input. A repartition topic feeding a join
  // takes the count of the join's other inputs (Kafka's co-partition groups), so the join
  // is co-partitioned by construction; otherwise that of the sub-topology writing it.
  const repartition = topology.internalTopics.filter((t) => t.purpose === "repartition");
  for (const t of repartition) {
    if (!partitions.has(t.name) && t.partitions !== null) partitions.set(t.name, t.partitions);
  }
  const writerCount = (topic: string): number | undefined => {
    const writers = topology.subtopologies.filter((s) => s.sinkTopics.includes(topic));
    const counts = writers.flatMap((s) => s.sourceTopics.map((x) => partitions.get(x)));
    if (counts.length === 0 || counts.some((c) => c === undefined)) return undefined;
    return Math.max(...(counts as number[]));
  };
  const groupOf = new Map<string, readonly string[]>();
  for (const g of topology.coPartitionGroups) for (const t of g.topics) groupOf.set(t, g.topics);
  let unresolved = repartition.filter((t) => !partitions.has(t.name));
  while (unresolved.length > 0) {
    const before = unresolved.length;
    for (const t of unresolved) {
      if (partitions.has(t.name)) continue;
      const group = groupOf.get(t.name);
      const fixed = group?.map((x) => partitions.get(x)).find((n) => n !== undefined);
      if (fixed !== undefined) {
        partitions.set(t.name, fixed);
      } else if (group === undefined) {
        const n = writerCount(t.name);
        if (n !== undefined) partitions.set(t.name, n);
      } else {
        // every input of the join is a new repartition topic: all get the largest
        const counts = group.map(writerCount);
        if (counts.every((c) => c !== undefined)) {
          const n = Math.max(...(counts as number[]));
          for (const x of group) partitions.set(x, n);
        }
      }
    }
    unresolved = unresolved.filter((t) => !partitions.has(t.name));
    if (unresolved.length === before) {
      throw new CopartitioningError(
        `cannot size repartition topic${unresolved.length > 1 ? "s" : ""} ${unresolved.map((t) => `'${t.name}'`).join(", ")}: no sub-topology writing ${unresolved.length > 1 ? "them" : "it"} reads a topic of known size`,
      );
    }
  }
  checkJoinsCopartitioned(topology, partitions);
  checkJoinsCopartitioned(topology, partitions);
  const tasksPerSubtopology = new Map<number, number>();
  for (const sub of topology.subtopologies) {
    const counts = sub.sourceTopics.map((t) => partitions.get(t)!);
    checkCopartitioned(sub, counts);
    tasksPerSubtopology.set(sub.id, Math.max(...counts));
  }

  return { partitions, tasksPerSubtopology };
}

function checkCopartitioned(sub: SubTopology, counts: number[]): void {
  if (sub.stores.length === 0 || new Set(counts).size <= 1) return;
  const list = sub.sourceTopics.map((t, i) => `'${t}' has ${counts[i]}`).join(", ");
  throw new CopartitioningError(
    `sub-topology ${sub.id} keeps state (${sub.stores.map((s) => s.name).join(", ")}) over topics that are not co-partitioned: ${list} partitions. Give them the same partition count, or repartition() one of them`,
  );
}

/** Every join's inputs, with the counts they really have (Kafka's CopartitionedTopicsEnforcer). */
function checkJoinsCopartitioned(topology: Topology, partitions: ReadonlyMap<string, number>) {
  for (const g of topology.coPartitionGroups) {
    const counts = g.topics.map((t) => partitions.get(t));
    if (new Set(counts).size <= 1) continue;
    const list = g.topics.map((t, i) => `'${t}' has ${counts[i]}`).join(", ");
    throw new CopartitioningError(
      `join '${g.join}' of app '${topology.applicationId}' needs co-partitioned inputs, but ${list} partitions: records of one key would meet in different tasks. Create the topics with the same partition count, or repartition({ numberOfPartitions }) one side`,
    );
  }
}
