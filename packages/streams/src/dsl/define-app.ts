import { StreamsArgumentError } from "../errors.js";
import { PROCESSING_GUARANTEES, type ProcessingGuarantee } from "../runtime/task-committer.js";
import { deadLetterTopicName } from "../topology/internal-names.js";
import type { App, AppConfig, BuildOptions } from "../topology/app.js";
import type { Topology } from "../topology/topology.js";
import { checkName } from "./graph-context.js";
import { KTable } from "./ktable.js";
import { StreamsBuilder } from "./streams-builder.js";

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
  const processingGuarantee = checkProcessingGuarantee(
    definition.config?.processingGuarantee ?? "at_least_once",
  );
  const numStandbyReplicas = checkStandbyReplicas(definition.config?.numStandbyReplicas ?? 0);
  const config: Required<AppConfig> = Object.freeze({
    idleTimeoutMs,
    numStandbyReplicas,
    processingGuarantee,
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

/** A count of standby replicas per stateful task: an integer from 0. */
export function checkStandbyReplicas(n: number): number {
  if (!(Number.isSafeInteger(n) && n >= 0)) {
    throw new StreamsArgumentError(
      `numStandbyReplicas must be an integer >= 0 (standby copies of each stateful task), got ${String(n)}`,
    );
  }
  return n;
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

/** A processing guarantee given by a user; throws naming the allowed values. */
export function checkProcessingGuarantee(value: unknown): ProcessingGuarantee {
  if (PROCESSING_GUARANTEES.includes(value as ProcessingGuarantee)) {
    return value as ProcessingGuarantee;
  }
  throw new StreamsArgumentError(
    `processingGuarantee must be ${PROCESSING_GUARANTEES.map((g) => `"${g}"`).join(" or ")}, got '${String(value)}'`,
  );
}
