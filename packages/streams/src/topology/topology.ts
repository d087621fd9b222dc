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
          const spec = allStores.get(s)!;
          if (!stores.includes(spec)) stores.push(spec);
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
  ) {}

  /** Topics the app reads that it does not create (user input). */
  sourceTopics(): string[] {
    const internal = new Set(this.internalTopics.map((t) => t.name));
    return this.subtopologies.flatMap((s) => s.sourceTopics).filter((t) => !internal.has(t));
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
