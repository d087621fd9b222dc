import type { LogClient } from "@tributary/log";
import { DEPLOYED_TOPOLOGY_VERSION, type DeployedTopology } from "@tributary/streams";
import { CliError } from "./errors.js";

/**
 * The compacted topic holding, per application id, the topology `tributary run` last
 * deployed (deployed-topology.ts in @tributary/streams has the record's format). It lives
 * in the log, beside the app's offsets and changelogs, so that every machine that can
 * reach the log plans against the same deploy.
 */
export const DEPLOYED_TOPOLOGIES_TOPIC = "_tributary_topologies";

const READ_TIMEOUT_MS = 60_000;

/** The record of the app's deployed topology, or null if it was never deployed. */
export async function readDeployedTopology(
  log: LogClient,
  applicationId: string,
): Promise<DeployedTopology | null> {
  const topics = await log.admin.listTopics({ includeInternal: true });
  if (!topics.includes(DEPLOYED_TOPOLOGIES_TOPIC)) return null;
  const starts = await log.admin.listOffsets(DEPLOYED_TOPOLOGIES_TOPIC, "earliest");
  const ends = await log.admin.listOffsets(DEPLOYED_TOPOLOGIES_TOPIC, "latest");
  const consumer = log.consumer({ clientId: "tributary-plan", autoOffsetReset: "earliest" });
  let latest: { offset: number; value: Buffer | null } | null = null;
  try {
    consumer.assign(starts.map((s) => ({ topic: s.topic, partition: s.partition })));
    for (const s of starts) consumer.seek(s, s.offset);
    const remaining = new Map(
      ends
        .filter((e) => e.offset > (starts.find((s) => s.partition === e.partition)?.offset ?? 0))
        .map((e) => [e.partition, e.offset]),
    );
    const deadline = Date.now() + READ_TIMEOUT_MS;
    while (remaining.size > 0) {
      if (Date.now() > deadline) {
        throw new CliError(
          "DEPLOY_RECORD",
          `reading ${DEPLOYED_TOPOLOGIES_TOPIC} did not reach its end within ${READ_TIMEOUT_MS / 1000} s: check that the log is reachable (tributary topics describe ${DEPLOYED_TOPOLOGIES_TOPIC})`,
        );
      }
      for (const fetched of await consumer.poll({ maxWaitMs: 1000 })) {
        for (const r of fetched.records) {
          if (r.key?.toString("utf8") === applicationId)
            latest = { offset: r.offset, value: r.value };
          if (r.offset + 1 >= (remaining.get(fetched.partition) ?? 0)) {
            remaining.delete(fetched.partition);
          }
        }
      }
    }
  } finally {
    await consumer.close().catch(() => {});
  }
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
  await log.admin.createTopic(DEPLOYED_TOPOLOGIES_TOPIC, {
    partitions: 1,
    config: { cleanupPolicy: "compact" },
    ifNotExists: true,
  });
  const producer = log.producer();
  try {
    await producer.send(DEPLOYED_TOPOLOGIES_TOPIC, [
      {
        key: Buffer.from(topology.applicationId, "utf8"),
        value: Buffer.from(JSON.stringify(topology), "utf8"),
      },
    ]);
  } finally {
    await producer.close();
  }
}

/**
 * Forgets the app's deployed topology (a tombstone): after a reset the app has no state or
 * internal topics left to orphan, so its next run is planned as a first deploy.
 */
export async function forgetDeployedTopology(log: LogClient, applicationId: string): Promise<void> {
  const topics = await log.admin.listTopics({ includeInternal: true });
  if (!topics.includes(DEPLOYED_TOPOLOGIES_TOPIC)) return;
  const producer = log.producer();
  try {
    await producer.send(DEPLOYED_TOPOLOGIES_TOPIC, [
      { key: Buffer.from(applicationId, "utf8"), value: null },
    ]);
  } finally {
    await producer.close();
  }
}
