import type { App, BuildOptions } from "./app.js";
import { StreamsArgumentError } from "../errors.js";
import { deadLetterTopicName, nameProblem } from "./internal-names.js";

/**
 * Where a side-by-side version writes: "shadow" topics (`<output>.<version>`) while it
 * runs beside the live app, the real output topics once promoted.
 */
export type VersionOutputs = "shadow" | "real";

/** The application id of version `version` of app `applicationId`: `<app>.<version>`. */
export function versionedApplicationId(applicationId: string, version: string): string {
  return `${applicationId}.${version}`;
}

/** The shadow topic version `version` writes in place of output `topic`. */
export function shadowTopicName(topic: string, version: string): string {
  return `${topic}.${version}`;
}

/**
 * The app a side-by-side version runs as (`tributary run app.ts --as v2`): the same
 * topology under the application id `<app>.<version>`, so its consumer group, changelogs,
 * repartition topics, dead-letter topic and local state are its own; and with `outputs`
 * "shadow", every output topic renamed `<output>.<version>`. Inputs are unchanged.
 */
export function versionedApp(app: App, version: string, outputs: VersionOutputs): App {
  const problem = nameProblem(version);
  if (problem !== null) {
    throw new StreamsArgumentError(
      `version '${version}' ${problem}: it becomes part of topic names`,
    );
  }
  const applicationId = versionedApplicationId(app.applicationId, version);
  const ownDeadLetters = app.config.deadLetterTopic === deadLetterTopicName(app.applicationId);
  const config = Object.freeze({
    ...app.config,
    deadLetterTopic: ownDeadLetters
      ? deadLetterTopicName(applicationId)
      : shadowTopicName(app.config.deadLetterTopic, version),
  });
  const build = (options: BuildOptions = {}) =>
    app.build({
      ...options,
      applicationId,
      ...(outputs === "shadow" ? { outputTopic: (t: string) => shadowTopicName(t, version) } : {}),
    });
  return { applicationId, config, build, describe: () => build().describe() };
}
