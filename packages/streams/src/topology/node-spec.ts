import type { Processor } from "../runtime/processor.js";
import type { Serde } from "../serdes.js";

/**
 * What the topology builder records for each node; the runtime instantiates a task from
 * these, and describe() prints them. Plain data plus the processor supplier, so the
 * runtime never reaches back into the DSL.
 */

/** Where a record came from, for timestamp extractors. */
export interface ConsumedRecord<K, V> {
  key: K;
  value: V;
  /** The timestamp stored with the record. */
  timestamp: number;
  topic: string;
  partition: number;
  offset: number;
}

/** Picks a record's event time; `partitionTime` is the largest timestamp seen so far
 * (-1 before the first), a fallback for records without a usable time. */
export type TimestampExtractor<K, V> = (
  record: ConsumedRecord<K, V>,
  partitionTime: number,
) => number;

// biome-ignore lint/suspicious/noExplicitAny: processors of every type sit in one graph
export type AnyProcessorSupplier = () => Processor<any, any, any, any>;

interface NodeLinks {
  readonly name: string;
  /** Insertion order: describe() and sub-topology numbering follow it. */
  readonly order: number;
  readonly predecessors: string[];
  readonly successors: string[];
}

export interface SourceSpec extends NodeLinks {
  readonly kind: "source";
  readonly topics: readonly string[];
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly timestampExtractor: TimestampExtractor<unknown, unknown> | null;
  /** Read as a table (table()): the latest value per key over the topic's whole history. */
  readonly table?: true;
  /** Idle timeout of this source's partitions; null: the app's. */
  readonly idleTimeoutMs: number | null;
}

export interface ProcessorSpec extends NodeLinks {
  readonly kind: "processor";
  readonly supplier: AnyProcessorSupplier;
  readonly stores: string[];
  /** What describe() adds after the stores, e.g. the windows or the join kind. */
  readonly description?: string;
}

export interface SinkSpec extends NodeLinks {
  readonly kind: "sink";
  readonly topic: string;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
}

export type NodeSpec = SourceSpec | ProcessorSpec | SinkSpec;

export type StoreType = "key-value" | "window" | "session";

export interface StoreSpec {
  readonly name: string;
  readonly type: StoreType;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  /** `<applicationId>-<store>-changelog`, or null with logging off. */
  readonly changelogTopic: string | null;
  /** Window and session stores: how long entries are kept behind the observed time. */
  readonly retentionMs?: number;
  /** Window stores of stream-stream joins keep every record, even at the same time. */
  readonly retainDuplicates?: boolean;
  /**
   * The processor scans this key-value store synchronously (suppression buffer, a join's
   * pending records): keep it whole in memory, backed by its changelog
   * (@tributary/state's LoggedMemoryKeyValueStore), not behind a prefetch.
   */
  readonly inMemory?: boolean;
  /** false: no write-back cache, every write goes straight to change-logging. */
  readonly caching?: false;
}

export interface InternalTopicSpec {
  readonly name: string;
  readonly purpose: "repartition" | "changelog";
  /** null: as many as the sub-topology that writes it has tasks (decided at run time). */
  readonly partitions: number | null;
  readonly cleanupPolicy: "delete" | "compact";
}
