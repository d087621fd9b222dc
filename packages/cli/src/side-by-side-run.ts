import { InvalidArgumentError, type LogClient, type OffsetResetSpec } from "@tributary/log";
import {
  type App,
  type Topology,
  nameProblem,
  shadowTopicName,
  versionedApp,
  versionedApplicationId,
} from "@tributary/streams";
import { CliError } from "./errors.js";
import { parseDatetime } from "./flags.js";
import { note } from "./output.js";
import {
  type ShadowRecord,
  SHADOW_RECORD_VERSION,
  readShadows,
  writeShadow,
} from "./shadow-records.js";
import type { WorkerSpec } from "./worker-messages.js";

/** How `tributary run` runs an app: as it is (the live one), or as a side-by-side version. */
export interface RunAs {
  /** The app the workers run (a versioned one with --as). */
  app: App;
  topology: Topology;
  /** The version's record (undefined: the live app). */
  record?: ShadowRecord;
  /** What the worker spec gets for it. */
  spec: Pick<WorkerSpec, "version" | "inputsStopped">;
}

/** `--as` names a version: it becomes part of topic names and the application id. */
export function parseVersion(raw: string): string {
  const problem = nameProblem(raw);
  if (problem !== null) {
    throw new InvalidArgumentError(`--as ${raw}: a version name ${problem} (e.g. --as v2)`);
  }
  return raw;
}

/** `--from earliest` or a point in time (ISO-8601 or epoch ms). */
export function parseFrom(raw: string): "earliest" | number {
  return raw === "earliest" ? "earliest" : parseDatetime("--from", raw);
}

/**
 * What a run of the live app (no --as) may do, given its versions: after a promote the
 * old app must not write the outputs again; during one it only drains (its inputs stopped)
 * and stops, so that the promote can finish.
 */
export async function liveRunAs(log: LogClient, app: App, topology: Topology): Promise<RunAs> {
  const versions = await readShadows(log, app.applicationId);
  const promoted = versions.find((r) => r.phase === "promoted");
  if (promoted !== undefined) {
    throw new CliError(
      "VERSION_STATE",
      `app ${app.applicationId} was promoted to version ${promoted.version} (${promoted.applicationId} writes its outputs now): run the new version with tributary run <its file> --as ${promoted.version}`,
    );
  }
  const promoting = versions.find((r) => r.phase === "promoting");
  if (promoting !== undefined) {
    note(
      `app ${app.applicationId} is being replaced by version ${promoting.version} (tributary promote): this run reads no input, drains its internal topics and stops`,
    );
  }
  return { app, topology, spec: promoting === undefined ? {} : { inputsStopped: true } };
}

/**
 * Prepares `tributary run app.ts --as <version> --from <point>`: a new version gets its
 * shadow output topics (each like its output: partitions and config), its group's offsets
 * on the inputs at `from` (table inputs at their earliest), and its record in
 * `_tributary_shadows`; a recorded one runs on from where it stands, writing shadow topics
 * until promoted and the real ones after.
 */
export async function versionRunAs(
  log: LogClient,
  live: App,
  liveTopology: Topology,
  version: string,
  from: "earliest" | number | undefined,
): Promise<RunAs> {
  const versions = await readShadows(log, live.applicationId);
  const other = versions.find((r) => r.version !== version && r.phase !== "shadow");
  if (other !== undefined) {
    throw new CliError(
      "VERSION_STATE",
      `app ${live.applicationId} has version ${other.version} ${other.phase}: a version beside a promoted one is not supported; run ${other.version} as the app (--as ${other.version})`,
    );
  }
  let record = versions.find((r) => r.version === version);
  if (record !== undefined && from !== undefined && from !== record.from) {
    throw new InvalidArgumentError(
      `--from ${from === "earliest" ? from : new Date(from).toISOString()}: version ${version} of ${live.applicationId} exists and started from ${record.from === "earliest" ? "earliest" : new Date(record.from).toISOString()}; drop --from to run it on, or abandon it first (tributary abandon ${live.applicationId} ${version})`,
    );
  }
  if (record === undefined) {
    if (from === undefined) {
      throw new InvalidArgumentError(
        `--from is needed to start version ${version} of ${live.applicationId}: --from earliest, or an ISO-8601 time such as 2024-05-01T12:00:00Z`,
      );
    }
    record = await startVersion(log, live, liveTopology, version, from);
  }
  const outputs = record.phase === "promoted" ? "real" : "shadow";
  const app = versionedApp(live, version, outputs);
  note(
    outputs === "real"
      ? `version ${version} of ${live.applicationId} is promoted: it writes the real outputs`
      : `version ${version} of ${live.applicationId} runs as ${record.applicationId}, writing ${Object.values(record.outputs).join(", ")}, never past the live app's committed input offsets`,
  );
  return {
    app,
    topology: app.build(),
    record,
    spec: { version: { name: version, outputs, trail: outputs === "shadow" } },
  };
}

async function startVersion(
  log: LogClient,
  live: App,
  liveTopology: Topology,
  version: string,
  from: "earliest" | number,
): Promise<ShadowRecord> {
  const applicationId = versionedApplicationId(live.applicationId, version);
  const outputs: Record<string, string> = {};
  for (const t of liveTopology.sinkTopics()) {
    const d = await log.admin.describeTopic(t);
    const shadow = shadowTopicName(t, version);
    await log.admin.createTopic(shadow, {
      partitions: d.partitions.length,
      config: d.config,
      ifNotExists: true,
    });
    outputs[t] = shadow;
  }
  const inputs = [...new Set(liveTopology.sourceTopics())].sort();
  const tables = liveTopology.tableSourceTopics();
  const spec: OffsetResetSpec =
    from === "earliest" ? { to: "earliest" } : { to: "timestamp", timestamp: from };
  const streams = inputs.filter((t) => !tables.includes(t));
  if (streams.length > 0) await log.admin.resetOffsets(applicationId, spec, { topics: streams });
  const tableInputs = inputs.filter((t) => tables.includes(t));
  if (tableInputs.length > 0) {
    await log.admin.resetOffsets(applicationId, { to: "earliest" }, { topics: tableInputs });
  }
  const now = Date.now();
  const record: ShadowRecord = {
    v: SHADOW_RECORD_VERSION,
    app: live.applicationId,
    version,
    applicationId,
    from,
    phase: "shadow",
    outputs,
    inputs,
    fence: null,
    createdAt: now,
    updatedAt: now,
  };
  await writeShadow(log, record);
  return record;
}
