import * as fs from "node:fs";
import {
  InvalidArgumentError,
  type LogClient,
  type OffsetResetPlanRow,
  type OffsetResetSpec,
} from "@tributary/log";
import type { Command } from "commander";
import { forgetDeployedTopology } from "../deployed-topologies.js";
import { type LogFlags, addLogOptions, appStateDir, withLog } from "../log-flags.js";
import { internalTopicsOf } from "../app-internal-topics.js";
import { CliError } from "../errors.js";
import { collectList, oneOf, parseDatetime, parseDuration, parseInteger } from "../flags.js";
import { loadApp } from "../load-app.js";
import { note, printJson, printTable } from "../output.js";

interface ResetFlags extends LogFlags {
  app?: string;
  tablesFrom: string;
  toEarliest?: boolean;
  toLatest?: boolean;
  toDatetime?: string;
  byDuration?: string;
  shiftBy?: string;
  toOffset?: string;
  topics?: string[];
  dryRun?: boolean;
  stateDir?: string;
  format: string;
}

/** What a reset will do (and, unless a dry run, did). */
export interface ResetPlan {
  applicationId: string;
  spec: OffsetResetSpec;
  offsets: OffsetResetPlanRow[];
  /** Input topics read as tables, moved to their earliest offset (unless --tables-from same). */
  tableTopics: string[];
  /** What the reset cannot undo or cannot know, said before it happens. */
  warnings: string[];
  deleteTopics: string[];
  stateDir: string;
  stateDirExists: boolean;
  dryRun: boolean;
}

/**
 * `tributary reset --app ID --to-…`: makes an app reprocess its input, as Kafka Streams'
 * application reset tool does. Refuses while the app has live members (moving offsets
 * under running workers would be overwritten by their next commit, and deleting their
 * state under them corrupts it). Then, in this order:
 *   1. moves the app's committed offsets on its input topics (the coordinator refuses
 *      again if a member joined meanwhile);
 *   2. deletes its changelog topics, and empties its repartition topics (deleted and
 *      created again with the same partitions and config, their committed offsets set
 *      to 0, so nothing of the old run is read again and nothing new is skipped);
 *   3. deletes its local state dir, so no store restores from a changelog that is gone.
 * Rerunning the app then recomputes every derived stream from the new offsets.
 *
 * Given the app file, reset knows which inputs are read as tables (table()): their stores
 * are deleted with the rest of the state, and a table is the latest value per key over
 * its topic's whole history, so those inputs go back to their earliest offset whatever
 * the spec (--tables-from same moves them with the others). A partition whose earliest
 * offset is above 0 has lost its first records to retention or compaction: the plan warns
 * that the rerun cannot see them.
 */
export function registerResetCommand(program: Command): void {
  addLogOptions(
    program
      .command("reset [app-file]")
      .description(
        "move an app's input offsets, delete its internal topics and local state, to reprocess history (given the app file, table inputs are re-read from the start)",
      )
      .option("--app <id>", "the app's applicationId (its consumer group); default: the app file's")
      .option(
        "--tables-from <earliest|same>",
        "where inputs read as tables restart: their earliest offset, or the same place as the others",
        "earliest",
      )
      .option("--to-earliest", "from the start of each input partition")
      .option("--to-latest", "from the end (skip what is there)")
      .option(
        "--to-datetime <time>",
        "from the first record at or after this time (ISO-8601 or epoch ms)",
      )
      .option("--by-duration <duration>", "from this long ago (PT10M, P1D, 10m, 1h30m)")
      .option("--shift-by <n>", "move each committed offset by n (negative: back)")
      .option("--to-offset <n>", "from this offset in every partition (clamped into range)")
      .option(
        "--topics <list>",
        "input topics to move (comma-separated; default: those the app committed)",
        collectList,
      )
      .option("--dry-run", "print the plan and change nothing")
      .option("--state-dir <dir>", "root of local state (default <data>/state)")
      .option("--format <text|json>", "output format of the plan", "text"),
  ).action(async (file: string | undefined, flags: ResetFlags) => {
    const format = oneOf("--format", flags.format, ["text", "json"] as const);
    const tablesFrom = oneOf("--tables-from", flags.tablesFrom, ["earliest", "same"] as const);
    const spec = resetSpec(flags);
    const topology = file === undefined ? undefined : (await loadApp(file)).topology;
    const appId = flags.app ?? topology?.applicationId;
    if (appId === undefined) {
      throw new InvalidArgumentError(
        "say which app: give its topology file (tributary reset app.ts …) or --app <applicationId>",
      );
    }
    if (topology !== undefined && topology.applicationId !== appId) {
      throw new InvalidArgumentError(
        `--app ${appId}, but ${file} is app ${topology.applicationId}: drop --app or give the file of ${appId}`,
      );
    }
    const tables =
      topology === undefined
        ? undefined
        : { topics: topology.tableSourceTopics(), from: tablesFrom };
    const plan = await withLog(flags, (log) => reset(log, appId, flags, spec, tables));
    for (const w of plan.warnings) note(`warning: ${w}`);
    if (format === "json") printJson(plan);
    else printPlan(plan);
  });
}

function resetSpec(flags: ResetFlags): OffsetResetSpec {
  const specs: OffsetResetSpec[] = [];
  if (flags.toEarliest) specs.push({ to: "earliest" });
  if (flags.toLatest) specs.push({ to: "latest" });
  if (flags.toDatetime !== undefined) {
    specs.push({ to: "timestamp", timestamp: parseDatetime("--to-datetime", flags.toDatetime) });
  }
  if (flags.byDuration !== undefined) {
    specs.push({ to: "duration", ms: Math.abs(parseDuration("--by-duration", flags.byDuration)) });
  }
  if (flags.shiftBy !== undefined) {
    specs.push({
      to: "shift",
      by: parseInteger(
        "--shift-by",
        flags.shiftBy,
        -Number.MAX_SAFE_INTEGER,
        Number.MAX_SAFE_INTEGER,
      ),
    });
  }
  if (flags.toOffset !== undefined) {
    specs.push({
      to: "offset",
      offset: parseInteger("--to-offset", flags.toOffset, 0, Number.MAX_SAFE_INTEGER),
    });
  }
  if (specs.length !== 1) {
    throw new InvalidArgumentError(
      `${specs.length === 0 ? "say where to reset to" : "give only one of"}: --to-earliest, --to-latest, --to-datetime, --by-duration, --shift-by or --to-offset`,
    );
  }
  return specs[0]!;
}

async function reset(
  log: LogClient,
  appId: string,
  flags: ResetFlags,
  spec: OffsetResetSpec,
  tables: { topics: string[]; from: "earliest" | "same" } | undefined,
): Promise<ResetPlan> {
  const group = await log.admin.describeGroup(appId);
  if (group.members.length > 0) {
    throw new CliError(
      "APP_RUNNING",
      `app ${appId} has ${group.members.length} live member${group.members.length === 1 ? "" : "s"} (${group.members.map((m) => m.clientId || m.memberId).join(", ")}): stop its workers first, then reset`,
    );
  }
  const internal = await internalTopicsOf(log, appId);
  const internalSet = new Set(internal);
  const committed = await log.admin.fetchCommittedOffsets(appId);
  const topics =
    flags.topics ??
    [...new Set(committed.map((c) => c.topic))].filter((t) => !internalSet.has(t)).sort();
  for (const t of topics) {
    if (internalSet.has(t)) {
      throw new InvalidArgumentError(
        `--topics ${t} is an internal topic of ${appId}: reset empties it anyway`,
      );
    }
  }
  const dryRun = flags.dryRun === true;
  const tableTopics =
    tables === undefined || tables.from === "same" || spec.to === "earliest"
      ? []
      : topics.filter((t) => tables.topics.includes(t));
  const streamTopics = topics.filter((t) => !tableTopics.includes(t));
  const offsets = [
    ...(streamTopics.length === 0
      ? []
      : await log.admin.resetOffsets(appId, spec, { topics: streamTopics, dryRun })),
    ...(tableTopics.length === 0
      ? []
      : await log.admin.resetOffsets(appId, { to: "earliest" }, { topics: tableTopics, dryRun })),
  ];
  const stateDir = appStateDir(flags.data, appId, flags.stateDir);
  const warnings = await historyGone(log, topics);
  if (tables === undefined && spec.to !== "earliest" && internal.some(isChangelog)) {
    warnings.push(
      `reset deletes ${appId}'s stores; an input read as a table (table()) restarts with the others, so its table would hold only records from the new offset on. Give the app file (tributary reset app.ts …) to re-read table inputs from their earliest offset`,
    );
  }
  const plan: ResetPlan = {
    applicationId: appId,
    spec,
    offsets,
    tableTopics,
    warnings,
    deleteTopics: internal,
    stateDir,
    stateDirExists: fs.existsSync(stateDir),
    dryRun,
  };
  if (dryRun) return plan;

  const repartition = internal.filter(isRepartition);
  for (const t of internal) {
    const d = isRepartition(t) ? await log.admin.describeTopic(t) : undefined;
    await log.admin.deleteTopic(t);
    if (d !== undefined)
      await log.admin.createTopic(t, { partitions: d.partitions.length, config: d.config });
  }
  const stale = committed.filter((c) => repartition.includes(c.topic)).map((c) => c.topic);
  if (stale.length > 0) {
    await log.admin.resetOffsets(appId, { to: "earliest" }, { topics: [...new Set(stale)] });
  }
  fs.rmSync(stateDir, { recursive: true, force: true });
  await forgetDeployedTopology(log, appId);
  return plan;
}

/** Topics an app writes and reads itself: repartition topics, and the two topics of a
 * foreign-key join, made like them (`<appId>-<join>-subscription-registration-topic`,
 * `…-subscription-response-topic`). */
const REPARTITION = /-(repartition|subscription-registration-topic|subscription-response-topic)$/;

function isRepartition(topic: string): boolean {
  return REPARTITION.test(topic);
}

function isChangelog(topic: string): boolean {
  return topic.endsWith("-changelog");
}

/**
 * A warning per input partition whose earliest offset is above 0: its first records were
 * deleted (retention, compaction), so no reset brings them back.
 */
async function historyGone(log: LogClient, topics: readonly string[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const topic of topics) {
    for (const o of await log.admin.listOffsets(topic, "earliest")) {
      if (o.offset > 0) {
        warnings.push(
          `${topic}-${o.partition} starts at offset ${o.offset}: records 0 to ${o.offset - 1} were deleted (retention or compaction) and cannot be reprocessed`,
        );
      }
    }
  }
  return warnings;
}

function printPlan(plan: ResetPlan): void {
  const to = describeSpec(plan.spec);
  process.stdout.write(
    `${plan.dryRun ? "plan (dry run, nothing changed)" : "reset"}: app ${plan.applicationId} ${to}\n`,
  );
  if (plan.offsets.length === 0) {
    process.stdout.write(
      "offsets: none to move (the app has committed none; name input topics with --topics)\n",
    );
  } else {
    printTable(
      ["topic", "partition", "old", "", "new", ""],
      plan.offsets.map((r) => [
        r.topic,
        r.partition,
        r.from ?? "-",
        "→",
        r.to,
        plan.tableTopics.includes(r.topic) ? "table input: re-read from the earliest offset" : "",
      ]),
    );
  }
  process.stdout.write(
    `internal topics ${plan.dryRun ? "to delete" : "deleted"}: ${plan.deleteTopics.length === 0 ? "none" : plan.deleteTopics.join(", ")}\n`,
  );
  process.stdout.write(
    `local state ${plan.dryRun ? "to delete" : "deleted"}: ${plan.stateDir}${plan.stateDirExists ? "" : " (absent)"}\n`,
  );
  process.stdout.write(
    `deployed topology ${plan.dryRun ? "to forget" : "forgotten"}: the next run is planned as a first deploy (tributary plan)\n`,
  );
  if (!plan.dryRun) note(`rerun the app to recompute its derived streams from the new offsets`);
}

function describeSpec(spec: OffsetResetSpec): string {
  switch (spec.to) {
    case "earliest":
      return "to earliest";
    case "latest":
      return "to latest";
    case "offset":
      return `to offset ${spec.offset}`;
    case "timestamp":
      return `to ${new Date(spec.timestamp).toISOString()}`;
    case "duration":
      return `by duration ${spec.ms} ms back`;
    case "shift":
      return `shifted by ${spec.by}`;
  }
}
