import * as fs from "node:fs";
import type { Command } from "commander";
import { internalTopicsOf } from "../app-internal-topics.js";
import { forgetDeployedTopology } from "../deployed-topologies.js";
import { CliError } from "../errors.js";
import { type LogFlags, addLogOptions, appStateDir, withLog } from "../log-flags.js";
import { forgetShadow, requireShadow } from "../shadow-records.js";

interface AbandonFlags extends LogFlags {
  stateDir?: string;
}

/**
 * `tributary abandon <app> <version>`: removes a side-by-side version and everything it
 * made: its shadow output topics, internal topics and dead-letter topic, its consumer
 * group, its local state and its record (last, so an interrupted abandon is finished by
 * running it again). Refuses while the version has running workers, and once promoted
 * (it is the app then). A version being promoted goes back to none: the live app can be
 * started again.
 */
export function registerAbandonCommand(program: Command): void {
  addLogOptions(
    program
      .command("abandon <app> <version>")
      .description("remove a side-by-side version and its topics, group, state and record")
      .option("--state-dir <dir>", "root of local state (default <data>/state)"),
  ).action(async (app: string, version: string, flags: AbandonFlags) => {
    await withLog(flags, async (log) => {
      const record = await requireShadow(log, app, version);
      if (record.phase === "promoted") {
        throw new CliError(
          "VERSION_STATE",
          `version ${version} of ${app} is promoted: it writes ${Object.keys(record.outputs).join(", ")} now and cannot be abandoned; deploy a new version beside it instead`,
        );
      }
      const id = record.applicationId;
      const members = (await log.admin.describeGroup(id)).members;
      if (members.length > 0) {
        throw new CliError(
          "APP_RUNNING",
          `version ${version} of ${app} has ${members.length} running worker${members.length === 1 ? "" : "s"} (${members.map((m) => m.clientId || m.memberId).join(", ")}): stop its tributary run first, then abandon`,
        );
      }
      const existing = new Set(await log.admin.listTopics());
      const topics = [
        ...Object.values(record.outputs),
        ...(await internalTopicsOf(log, id)),
        `${id}-dlq`,
      ].filter((t) => existing.has(t));
      for (const t of topics) await log.admin.deleteTopic(t);
      if ((await log.admin.listGroups()).some((g) => g.groupId === id)) {
        await log.admin.deleteGroup(id);
      }
      const stateDir = appStateDir(flags.data, id, flags.stateDir);
      fs.rmSync(stateDir, { recursive: true, force: true });
      await forgetDeployedTopology(log, id);
      await forgetShadow(log, app, version);
      process.stdout.write(
        `abandoned ${app} ${version}: deleted topics ${topics.length === 0 ? "none" : topics.join(", ")}; group ${id}; local state ${stateDir}${record.phase === "promoting" ? `; the live app ${app} can be run again` : ""}\n`,
      );
    });
  });
}
