import type { LogClient } from "@tributary/log";
import { DEPLOYED_TOPOLOGY_VERSION, type DeployedTopology } from "@tributary/streams";
import { readLatestByKey, writeKeyed } from "./compacted-topic.js";
import { CliError } from "./errors.js";

/**
 * The compacted topic holding, per application id, the topology `tributary run` last
 * deployed (deployed-topology.ts in @tributary/streams has the record's format). It lives
 * in the log, beside the app's offsets and changelogs, so that every machine that can
 * reach the log plans against the same deploy.
 */
export const DEPLOYED_TOPOLOGIES_TOPIC = "_tributary_topologies";

/** The record of the app's deployed topology, or null if it was never deployed. */
export async function readDeployedTopology(
  log: LogClient,
  applicationId: string,
): Promise<DeployedTopology | null> {
  const latest =
    (
      await readLatestByKey(
        log,
        DEPLOYED_TOPOLOGIES_TOPIC,
        "tributary-plan",
        (k) => k === applicationId,
      )
    ).get(applicationId) ?? null;
  if (latest === null || latest.value === null) return null;
  let record: DeployedTopology;
  try {
    record = JSON.parse(latest.value.toString("utf8")) as DeployedTopology;
  } catch (err) {
    throw new CliError(
      "DEPLOY_RECORD",
      `the deployed topology of ${applicationId} at ${DEPLOYED_TOPOLOGIES_TOPIC} offset ${latest.offset} is not JSON (${(err as Error).message}): deploy with --allow-incompatible to write a new one`,
    );
  }
  if (record.version !== DEPLOYED_TOPOLOGY_VERSION) {
    throw new CliError(
      "DEPLOY_RECORD",
      `the deployed topology of ${applicationId} at ${DEPLOYED_TOPOLOGIES_TOPIC} offset ${latest.offset} has version ${record.version}, and this tributary reads version ${DEPLOYED_TOPOLOGY_VERSION}: use the tributary that deployed it, or deploy with --allow-incompatible`,
    );
  }
  return record;
}

/** Records `topology` as the app's deployed one. */
export async function writeDeployedTopology(
  log: LogClient,
  topology: DeployedTopology,
): Promise<void> {
  await writeKeyed(
    log,
    DEPLOYED_TOPOLOGIES_TOPIC,
    topology.applicationId,
    JSON.stringify(topology),
  );
}

/**
 * Forgets the app's deployed topology (a tombstone): after a reset the app has no state or
 * internal topics left to orphan, so its next run is planned as a first deploy.
 */
export async function forgetDeployedTopology(log: LogClient, applicationId: string): Promise<void> {
  const topics = await log.admin.listTopics({ includeInternal: true });
  if (!topics.includes(DEPLOYED_TOPOLOGIES_TOPIC)) return;
  await writeKeyed(log, DEPLOYED_TOPOLOGIES_TOPIC, applicationId, null);
}
