import * as fs from "node:fs";
import type { LogClient } from "@tributary/log";
import type { Command } from "commander";
import { internalTopicsOf } from "../app-internal-topics.js";
import { CaughtUpTracker } from "../caught-up.js";
import { forgetDeployedTopology } from "../deployed-topologies.js";
import { CliError } from "../errors.js";
import { parseDuration } from "../flags.js";
import { type LogFlags, addLogOptions, appStateDir, withLog } from "../log-flags.js";
import { note } from "../output.js";
import { type ShadowRecord, requireShadow, writeShadow } from "../shadow-records.js";

interface PromoteFlags extends LogFlags {
  timeout: string;
  removeOld?: boolean;
  stateDir?: string;
}

const POLL_MS = 250;
const NOTE_EVERY_MS = 5000;

/**
 * `tributary promote <app> <version>`: makes a side-by-side version the app, with no gap
 * and no duplicate in the outputs (docs/reprocessing.md "How promote works"):
 *   1. records the version as "promoting": the live app's `tributary run` sees it, stops
 *      reading input (each worker commits where it stands), waits until its repartition
 *      topics are consumed, and stops; its committed input offsets O are then final;
 *   2. records O as the version's fence, and waits until the version, which never reads
 *      past the live app's committed offsets, has committed exactly O with its own
 *      repartition topics consumed: every output of the input before O is in the shadow
 *      topics;
 *   3. records it "promoted": its `tributary run` restarts its workers on the real output
 *      topics, from O.
 * Each step is recorded before the next, so a promote that was interrupted is finished by
 * running it again. --remove-old then deletes the old app's internal topics, group and
 * local state.
 */
export function registerPromoteCommand(program: Command): void {
  addLogOptions(
    program
      .command("promote <app> <version>")
      .description(
        "switch an app's outputs to a side-by-side version, from exactly where the live app stopped",
      )
      .option("--timeout <duration>", "give up waiting after this long (10m, PT1H)", "10m")
      .option("--remove-old", "then delete the old app's internal topics, group and local state")
      .option("--state-dir <dir>", "root of local state (default <data>/state), for --remove-old"),
  ).action(async (app: string, version: string, flags: PromoteFlags) => {
    const timeoutMs = parseDuration("--timeout", flags.timeout);
    await withLog(flags, async (log) => {
      let record = await requireShadow(log, app, version);
      const deadline = Date.now() + timeoutMs;
      if (record.phase === "shadow") {
        record = { ...record, phase: "promoting" };
        await writeShadow(log, record);
        note(`promoting ${app} to ${version}: asked the live app to stop reading input and drain`);
      }
      if (record.phase === "promoting") {
        if (record.fence === null) {
          record = { ...record, fence: await stopLive(log, record, deadline) };
          await writeShadow(log, record);
        }
        await catchUp(log, record, deadline);
        record = { ...record, phase: "promoted" };
        await writeShadow(log, record);
        const at = record.fence!.map((f) => `${f.topic}-${f.partition}@${f.offset}`).join(" ");
        process.stdout.write(
          `promoted ${app} to ${version}: ${record.applicationId} writes ${Object.keys(record.outputs).sort().join(", ")} from input offsets ${at || "(none committed)"}\n`,
        );
      } else {
        process.stdout.write(`${app} is already promoted to ${version}\n`);
      }
      if (flags.removeOld) await removeOld(log, app, appStateDir(flags.data, app, flags.stateDir));
    });
  });
}

/**
 * Waits until the live app has no member left (its run drains and stops by itself), checks
 * that it left nothing in its repartition topics, and returns its committed input offsets.
 */
async function stopLive(
  log: LogClient,
  record: ShadowRecord,
  deadline: number,
): Promise<NonNullable<ShadowRecord["fence"]>> {
  let lastNote = Date.now();
  for (;;) {
    const members = (await log.admin.describeGroup(record.app)).members;
    if (members.length === 0) break;
    if (Date.now() > deadline) {
      throw new CliError(
        "PROMOTE_TIMEOUT",
        `the live app ${record.app} still has ${members.length} member(s) (${members.map((m) => m.clientId || m.memberId).join(", ")}): its tributary run stops by itself once it has drained; if it does not (an older tributary), stop it with Ctrl-C, then run promote again`,
      );
    }
    if (Date.now() - lastNote > NOTE_EVERY_MS) {
      note(`waiting for the live app ${record.app} to drain and stop (${members.length} members)`);
      lastNote = Date.now();
    }
    await sleep(POLL_MS);
  }
  const repartition = (await internalTopicsOf(log, record.app)).filter(
    (t) => !t.endsWith("-changelog"),
  );
  const left = await CaughtUpTracker.of(log.admin, record.app, new Map(), repartition).remaining();
  if (!left.caughtUp) {
    throw new CliError(
      "VERSION_STATE",
      `the live app ${record.app} stopped with ${left.remaining} records of its repartition topics unprocessed (its run was killed while draining): run it again (tributary run <its file>): during a promote it only drains and stops; then run promote again`,
    );
  }
  return (await log.admin.fetchCommittedOffsets(record.app, record.inputs))
    .map((c) => ({ topic: c.topic, partition: c.partition, offset: c.offset }))
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/** Waits until the version has committed exactly the fence, its repartition topics drained. */
async function catchUp(log: LogClient, record: ShadowRecord, deadline: number): Promise<void> {
  const fence = new Map(record.fence!.map((f) => [`${f.topic}\0${f.partition}`, f.offset]));
  const repartition = (await internalTopicsOf(log, record.applicationId)).filter(
    (t) => !t.endsWith("-changelog"),
  );
  const tracker = CaughtUpTracker.of(log.admin, record.applicationId, fence, repartition);
  let lastNote = Date.now();
  for (;;) {
    const r = await tracker.remaining();
    if (r.caughtUp) return;
    if (Date.now() > deadline) {
      throw new CliError(
        "PROMOTE_TIMEOUT",
        `version ${record.version} is still ${r.remaining} records short of where the live app stopped: make sure its run is going (tributary run <its file> --as ${record.version}), then run promote again (nothing is undone)`,
      );
    }
    if (Date.now() - lastNote > NOTE_EVERY_MS) {
      const members = (await log.admin.describeGroup(record.applicationId)).members.length;
      note(
        `waiting for ${record.version} to catch up: ${r.remaining} records to go${members === 0 ? ` (it has no running workers: start tributary run <its file> --as ${record.version})` : ""}`,
      );
      lastNote = Date.now();
    }
    await sleep(POLL_MS);
  }
}

/** Deletes what the old app made: internal topics, group, local state, deployed record. */
async function removeOld(log: LogClient, app: string, stateDir: string): Promise<void> {
  const topics = await internalTopicsOf(log, app);
  for (const t of topics) await log.admin.deleteTopic(t);
  await log.admin.deleteGroup(app).catch(() => {});
  fs.rmSync(stateDir, { recursive: true, force: true });
  await forgetDeployedTopology(log, app);
  process.stdout.write(
    `removed the old ${app}: internal topics ${topics.length === 0 ? "none" : topics.join(", ")}; group ${app}; local state ${stateDir}\n`,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
