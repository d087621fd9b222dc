import type { Serde } from "../serdes.js";
import type { StoreSpec, StoreType } from "../topology/node-spec.js";
import type { TopologyBuilder } from "../topology/topology-builder.js";
import { changelogTopicName } from "../topology/internal-names.js";

/** What a stateful node needs from the repartition topic the compiler may put before it. */
export interface RepartitionRequest {
  /** The topic is `<applicationId>-<baseName>-repartition`. */
  baseName: string;
  keySerde: Serde<unknown>;
  valueSerde: Serde<unknown>;
  /** null: decided at run time (as many as the upstream sub-topology has tasks). */
  partitions: number | null;
}

/** A store as the DSL declares it; it gets its changelog topic name at compile time. */
export interface StoreDraft {
  name: string;
  keySerde: Serde<unknown>;
  valueSerde: Serde<unknown>;
  loggingEnabled: boolean;
  /** Default "key-value". */
  type?: StoreType;
  retentionMs?: number;
  retainDuplicates?: boolean;
  inMemory?: boolean;
  /** false: no write-back cache (a custom processor's store built withCachingDisabled). */
  caching?: false;
}

export function storeSpec(draft: StoreDraft, applicationId: string): StoreSpec {
  return {
    name: draft.name,
    type: draft.type ?? "key-value",
    keySerde: draft.keySerde,
    valueSerde: draft.valueSerde,
    changelogTopic: draft.loggingEnabled ? changelogTopicName(applicationId, draft.name) : null,
    ...(draft.retentionMs === undefined ? {} : { retentionMs: draft.retentionMs }),
    ...(draft.retainDuplicates === undefined ? {} : { retainDuplicates: draft.retainDuplicates }),
    ...(draft.inMemory === undefined ? {} : { inMemory: draft.inMemory }),
    ...(draft.caching === false ? { caching: false } : {}),
  };
}

/**
 * A node of the logical graph the DSL builds (Kafka's GraphNode). The graph says what the
 * app computes; the compiler (compile-graph.ts) decides where records must cross a topic,
 * then each node writes itself into the topology builder. New kinds (windowed
 * aggregations, joins) subclass this and declare the two facts the compiler needs:
 * whether they change keys, and whether they need input partitioned by key.
 */
export abstract class GraphNode {
  readonly parents: GraphNode[] = [];
  readonly children: GraphNode[] = [];
  /** Keys after this node may differ from keys before it. */
  keyChanging = false;
  /** Records leave this node partitioned by their key (a source, a repartition topic). */
  partitionedByKey = false;

  constructor(readonly name: string) {}

  /** The topology node children connect to. */
  outputName(): string {
    return this.name;
  }

  /**
   * Non-null when this node needs the input from `parents[parentIndex]` partitioned by
   * key (aggregations, joins): the compiler then puts a repartition topic on that edge if
   * a key-changing operation lies upstream.
   */
  repartitionFor(_parentIndex: number): RepartitionRequest | null {
    return null;
  }

  abstract writeTo(builder: TopologyBuilder, parentOutputs: readonly string[]): void;
}
