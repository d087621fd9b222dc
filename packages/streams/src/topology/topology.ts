import { TopologyError } from "../errors.js";
import type { GlobalStoreSpec } from "./global-store-spec.js";
import type { InternalTopicSpec, NodeSpec, SourceSpec, StoreSpec } from "./node-spec.js";
import { TopologyDescription } from "./topology-description.js";

/** A connected part of the topology: the unit the runtime makes tasks of, one per input
 * partition. Its nodes are in insertion order, which is a topological order. */
export class SubTopology {
  /** topic -> the source node reading it */
  readonly sources: ReadonlyMap<string, SourceSpec>;
  readonly sourceTopics: readonly string[];
  readonly sinkTopics: readonly string[];
  readonly stores: readonly StoreSpec[];

  constructor(
    readonly id: number,
    readonly nodes: readonly NodeSpec[],
    allStores: ReadonlyMap<string, StoreSpec>,
  ) {
    const sources = new Map<string, SourceSpec>();
    const sinks: string[] = [];
    const stores: StoreSpec[] = [];
    for (const n of nodes) {
      if (n.kind === "source") for (const t of n.topics) sources.set(t, n);
      else if (n.kind === "sink") {
        if (!sinks.includes(n.topic)) sinks.push(n.topic);
      } else {
        for (const s of n.stores) {
          const spec = allStores.get(s);
          // a global store (absent here) is the worker's, not the task's
          if (spec !== undefined && !stores.includes(spec)) stores.push(spec);
        }
      }
    }
    this.sources = sources;
    this.sourceTopics = [...sources.keys()];
    this.sinkTopics = sinks;
    this.stores = stores;
  }

  taskId(partition: number): string {
    return `${this.id}_${partition}`;
  }
}

/** A join and the topics it reads, which must be co-partitioned. */
export interface CoPartitionGroup {
  join: string;
  topics: string[];
}

/**
 * A compiled topology: sub-topologies, stores and internal topics, all named. What the
 * runtime and the test driver run, and what `describe()` prints.
 */
export class Topology {
  constructor(
    readonly applicationId: string,
    readonly subtopologies: readonly SubTopology[],
    readonly stores: ReadonlyMap<string, StoreSpec>,
    readonly internalTopics: readonly InternalTopicSpec[],
    /** Each join's input topics, which must have equal partition counts. */
    readonly coPartitionGroups: readonly CoPartitionGroup[] = [],
    /** Global tables: read in full by every worker, outside the sub-topologies. */
    readonly globalStores: readonly GlobalStoreSpec[] = [],
  ) {}

  /**
   * Checks that every join's input topics have the same number of partitions (Kafka's
   * CopartitionedTopicsEnforcer), with `partitionsOf` giving a topic's count (undefined:
   * not known yet, skipped). A repartition topic of the app takes the count of the other
   * topics in its group unless it was given one. Returns the counts it decided for such
   * repartition topics; throws a TopologyError naming the topics and their counts.
   */
  checkCoPartitioning(partitionsOf: (topic: string) => number | undefined): Map<string, number> {
    const decided = new Map<string, number>();
    const internal = new Map(this.internalTopics.map((t) => [t.name, t]));
    for (const g of this.coPartitionGroups) {
      const known: [string, number][] = [];
      const open: string[] = [];
      for (const t of g.topics) {
        const spec = internal.get(t);
        const n = spec !== undefined ? (spec.partitions ?? decided.get(t)) : partitionsOf(t);
        if (n === undefined || n === null) {
          if (spec !== undefined) open.push(t);
        } else known.push([t, n]);
      }
      const counts = new Set(known.map(([, n]) => n));
      if (counts.size > 1) {
        throw new TopologyError(
          `join '${g.join}' needs co-partitioned inputs, but its topics have different partition counts: ${known.map(([t, n]) => `${t} (${n})`).join(", ")}. Create them with the same count, or repartition one side with repartition({ numberOfPartitions })`,
        );
      }
      const n = known[0]?.[1];
      if (n !== undefined) for (const t of open) decided.set(t, n);
    }
    return decided;
  }

  /** Topics the app reads that it does not create (user input). */
  sourceTopics(): string[] {
    const internal = new Set(this.internalTopics.map((t) => t.name));
    return this.subtopologies.flatMap((s) => s.sourceTopics).filter((t) => !internal.has(t));
  }

  /**
   * Input topics read as tables: a table holds the latest value per key over the topic's
   * whole history, so reprocessing must read them from the start (reset does).
   */
  tableSourceTopics(): string[] {
    const topics = this.subtopologies.flatMap((s) =>
      [...s.sources].filter(([, spec]) => spec.table === true).map(([topic]) => topic),
    );
    return [...new Set(topics)].sort();
  }

  /** Topics read in full by every worker as global tables (not by the group). */
  globalTopics(): string[] {
    return this.globalStores.map((g) => g.topic);
  }

  /** Topics the app writes that it does not create (user output). */
  sinkTopics(): string[] {
    const internal = new Set(this.internalTopics.map((t) => t.name));
    const out = new Set(this.subtopologies.flatMap((s) => s.sinkTopics));
    return [...out].filter((t) => !internal.has(t));
  }

  subtopologyReading(topic: string): SubTopology | undefined {
    return this.subtopologies.find((s) => s.sources.has(topic));
  }

  /**
   * One task per sub-topology per partition: a sub-topology has as many tasks as its
   * largest input topic has partitions (co-partitioned inputs must agree).
   */
  taskIds(partitionsOf: (topic: string) => number): string[] {
    const ids: string[] = [];
    for (const s of this.subtopologies) {
      const n = Math.max(...s.sourceTopics.map(partitionsOf));
      for (let p = 0; p < n; p++) ids.push(s.taskId(p));
    }
    return ids;
  }

  describe(): TopologyDescription {
    return new TopologyDescription(this);
  }
}
