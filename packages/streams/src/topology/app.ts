import type { ErrorHandling } from "../runtime/stream-task.js";
import type { ProcessingGuarantee } from "../runtime/task-committer.js";
import type { TopologyDescription } from "./topology-description.js";
import type { Topology } from "./topology.js";

/*
 * What the runtime, the CLI and the test driver take: an application id, its config, and
 * a way to compile its topology. The DSL's `defineApp` makes one; the runtime only ever
 * sees the compiled Topology it builds, never the DSL (no runtime file imports dsl/).
 */

export interface AppConfig {
  /**
   * A record that cannot be decoded, or whose processing throws: "dead-letter" (default)
   * sends it, with the error in `tributary.error.*` headers, to `deadLetterTopic` and goes
   * on; "fail" stops the app with a ProcessingError naming the record's place.
   */
  errorHandling?: ErrorHandling;
  /** Default `<applicationId>-dlq`. */
  deadLetterTopic?: string;
  /**
   * A source partition that gets no record for this long, while caught up, stops holding
   * event time back (docs/streams-runtime.md "Idle inputs"). Default 10,000 ms: a live app
   * with one quiet partition still emits its final windows that long after the others.
   */
  idleTimeoutMs?: number;
  /**
   * Kafka Streams' processing.guarantee. "at_least_once" (default): after a crash the
   * records since the last commit are processed again, so outputs may repeat. "exactly_once":
   * each commit is one transaction of outputs, changelog records and input offsets, and
   * read_committed readers see every input's effect once (docs/streams-runtime.md
   * "Processing guarantees" says where it does not reach: side effects, external calls).
   */
  processingGuarantee?: ProcessingGuarantee;
  /**
   * Kafka Streams' num.standby.replicas: how many other workers keep a warm copy of each
   * stateful task's stores by reading its changelogs, so a task that moves after a crash
   * restores only the changelog tail (docs/streams-runtime.md "Standby replicas").
   * Default 0.
   */
  numStandbyReplicas?: number;
}

export interface BuildOptions {
  /** Partition counts of the topics the app reads, for the co-partitioning check. */
  partitionsOf?: (topic: string) => number | undefined;
  /**
   * The name under which the app's output topics (the sinks that are not its internal
   * topics) are written: a side-by-side version writes `<output>.<version>`
   * (topology/versioned-app.ts). Default: as the topology names them.
   */
  outputTopic?: (topic: string) => string;
  /** Builds under another application id (defineApp's build; a side-by-side version's). */
  applicationId?: string;
}

/** What a topology file exports by default (`defineApp`); the runtime, the CLI and the
 * test driver take it. `S`: the tables the topology returns to be queried (the DSL's
 * QueryableStores), for queryClient's types only. */
// biome-ignore lint/complexity/noBannedTypes: an app without queryable tables has none
export interface App<S = {}> {
  readonly applicationId: string;
  /** Type only, never set: the queryable stores' tables (see QueryableStores). */
  readonly queryableStores?: S;
  readonly config: Readonly<Required<AppConfig>>;
  /** Runs the topology function on a fresh builder and compiles the result (checking
   * joins' co-partitioning when given the topics' partition counts). */
  build(options?: BuildOptions): Topology;
  describe(): TopologyDescription;
}
