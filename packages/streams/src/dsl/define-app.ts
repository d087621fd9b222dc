import { StreamsArgumentError } from "../errors.js";
import type { ErrorHandling } from "../runtime/stream-task.js";
import { deadLetterTopicName } from "../topology/internal-names.js";
import type { Topology } from "../topology/topology.js";
import type { TopologyDescription } from "../topology/topology-description.js";
import { checkName } from "./graph-context.js";
import { KTable } from "./ktable.js";
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
}

/**
 * The tables a topology function returns to make their stores queryable with types:
 * each property is a materialized table, named after its store (`{ counts }` where
 * `counts` was made with `Materialized { storeName: "counts" }`). queryClient(app) takes
 * the store names and the key and value types from here.
 */
// biome-ignore lint/suspicious/noExplicitAny: any table type; queryClient infers them
export type QueryableStores = Record<string, KTable<any, any>>;

export interface AppDefinition<S extends QueryableStores = QueryableStores> {
  /** Names the consumer group, and prefixes every internal topic and store changelog. */
  applicationId: string;
  /** Builds the topology; may return the tables to query by store name (QueryableStores). */
  // biome-ignore lint/suspicious/noConfusingVoidType: a topology function may return nothing
  topology: (builder: StreamsBuilder) => S | void;
  config?: AppConfig;
}

/** What a topology file exports by default; the runtime, the CLI and the test driver
 * take it. */
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

// biome-ignore lint/complexity/noBannedTypes: a topology that returns nothing has no queryable tables
export function defineApp<S extends QueryableStores = {}>(definition: AppDefinition<S>): App<S> {
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
  const config: Required<AppConfig> = Object.freeze({
    idleTimeoutMs,
    errorHandling,
    deadLetterTopic: checkName(
      definition.config?.deadLetterTopic ?? deadLetterTopicName(applicationId),
      "deadLetterTopic",
    ),
  });
  const build = (options?: BuildOptions): Topology => {
    const builder = new StreamsBuilder();
    checkQueryable(topology(builder));
    return builder.build(options?.applicationId ?? applicationId, options);
  };
  return {
    applicationId,
    config,
    build,
    describe: () => build().describe(),
  };
}

/** The tables a topology function returned must each be materialized under the store
 * name they are returned as: that name is what queries use. */
function checkQueryable(returned: unknown): void {
  if (returned === undefined || returned === null) return;
  if (typeof returned !== "object") {
    throw new StreamsArgumentError(
      `a topology function returns nothing, or { storeName: table } for queries; got a ${typeof returned}`,
    );
  }
  for (const [name, table] of Object.entries(returned)) {
    const store =
      table instanceof KTable ? table.queryableStoreName() : `not a table (${typeof table})`;
    if (store !== name) {
      throw new StreamsArgumentError(
        `the topology returned '${name}' for queries, but it is ${store === null ? "a table with no store" : `the store '${store}'`}: return each table under its store name ({ ${typeof store === "string" && !store.startsWith("not ") ? store : name}: table }), materialized with { storeName: "${name}" }`,
      );
    }
  }
}
