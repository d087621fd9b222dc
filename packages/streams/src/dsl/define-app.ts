import { StreamsArgumentError } from "../errors.js";
import type { ErrorHandling } from "../runtime/stream-task.js";
import { PROCESSING_GUARANTEES, type ProcessingGuarantee } from "../runtime/task-committer.js";
import { deadLetterTopicName } from "../topology/internal-names.js";
import type { Topology } from "../topology/topology.js";
import type { TopologyDescription } from "../topology/topology-description.js";
import { checkName } from "./graph-context.js";
import { type BuildOptions, StreamsBuilder } from "./streams-builder.js";

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
}

export interface AppDefinition {
  /** Names the consumer group, and prefixes every internal topic and store changelog. */
  applicationId: string;
  topology: (builder: StreamsBuilder) => void;
  config?: AppConfig;
}

/** What a topology file exports by default; the runtime, the CLI and the test driver
 * take it. */
export interface App {
  readonly applicationId: string;
  readonly config: Readonly<Required<AppConfig>>;
  /** Runs the topology function on a fresh builder and compiles the result (checking
   * joins' co-partitioning when given the topics' partition counts). */
  build(options?: BuildOptions): Topology;
  describe(): TopologyDescription;
}

export function defineApp(definition: AppDefinition): App {
  const { applicationId, topology } = definition;
  if (typeof applicationId !== "string") {
    throw new StreamsArgumentError("defineApp needs an applicationId string");
  }
  checkName(applicationId, "applicationId");
  if (typeof topology !== "function") {
    throw new StreamsArgumentError("defineApp needs topology: (builder) => { ... }");
  }
  const errorHandling = definition.config?.errorHandling ?? "dead-letter";
  if (errorHandling !== "dead-letter" && errorHandling !== "fail") {
    throw new StreamsArgumentError(
      `errorHandling must be "dead-letter" or "fail", got '${errorHandling}'`,
    );
  }
  const idleTimeoutMs = definition.config?.idleTimeoutMs ?? 10_000;
  if (!(Number.isFinite(idleTimeoutMs) && idleTimeoutMs >= 0)) {
    throw new StreamsArgumentError(
      `idleTimeoutMs must be a number of ms >= 0, got ${String(idleTimeoutMs)}`,
    );
  }
  const processingGuarantee = checkProcessingGuarantee(
    definition.config?.processingGuarantee ?? "at_least_once",
  );
  const config: Required<AppConfig> = Object.freeze({
    idleTimeoutMs,
    processingGuarantee,
    errorHandling,
    deadLetterTopic: checkName(
      definition.config?.deadLetterTopic ?? deadLetterTopicName(applicationId),
      "deadLetterTopic",
    ),
  });
  const build = (options?: BuildOptions): Topology => {
    const builder = new StreamsBuilder();
    topology(builder);
    return builder.build(options?.applicationId ?? applicationId, options);
  };
  return {
    applicationId,
    config,
    build,
    describe: () => build().describe(),
  };
}

/** A processing guarantee given by a user; throws naming the allowed values. */
export function checkProcessingGuarantee(value: unknown): ProcessingGuarantee {
  if (PROCESSING_GUARANTEES.includes(value as ProcessingGuarantee)) {
    return value as ProcessingGuarantee;
  }
  throw new StreamsArgumentError(
    `processingGuarantee must be ${PROCESSING_GUARANTEES.map((g) => `"${g}"`).join(" or ")}, got '${String(value)}'`,
  );
}
