import { StreamsArgumentError } from "../errors.js";
import { deadLetterTopicName } from "../topology/internal-names.js";
import type { App, AppConfig, BuildOptions } from "../topology/app.js";
import type { Topology } from "../topology/topology.js";
import { checkName } from "./graph-context.js";
import { StreamsBuilder } from "./streams-builder.js";

export interface AppDefinition {
  /** Names the consumer group, and prefixes every internal topic and store changelog. */
  applicationId: string;
  topology: (builder: StreamsBuilder) => void;
  config?: AppConfig;
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
