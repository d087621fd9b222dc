import * as readline from "node:readline/promises";
import {
  checkDataDir,
  DEFAULT_DATA_DIR,
  type DirLock,
  InvalidArgumentError,
  lockForRepair,
  type PartitionDamage,
  type PartitionReport,
  repairDataDir,
} from "@tributary/log";
import type { Command } from "commander";
import { CliError } from "../errors.js";
import { oneOf, parseInteger } from "../flags.js";
import { note, printJson } from "../output.js";

interface CheckFlags {
  data: string;
  topic?: string;
  partition?: string;
  format: string;
}

interface RepairFlags extends CheckFlags {
  yes?: boolean;
}

/**
 * `tributary log check|repair`: the storage doctor. `check` verifies every batch of every
 * partition of a data directory and reports the damage (file, bytes, offsets); `repair`
 * prints exactly what it will drop, asks (unless --yes), and cuts out only the damage.
 * They work on the files, not through a broker; repair refuses while a broker runs.
 */
export function registerLogCommand(program: Command): void {
  const log = program
    .command("log")
    .description("check a data directory's log files for damage, and repair it");

  withPartitionOptions(
    log
      .command("check")
      .description(
        "verify every record batch; report damaged ranges (file, byte position, offsets) and what repair would drop; exit 1 when damaged",
      ),
  ).action((flags: CheckFlags) => {
    const format = oneOf("--format", flags.format, ["text", "json"] as const);
    const reports = checkDataDir(flags.data, partitionFilter(flags));
    if (format === "json") printJson(reports);
    else for (const report of reports) printReport(report);
    const damaged = reports.filter((r) => r.damage.length > 0);
    if (damaged.length > 0) {
      throw new CliError(
        "LOG_DAMAGED",
        `${damaged.length} of ${reports.length} partitions are damaged: readers get CORRUPT_RECORD for the offsets listed; stop the broker and run tributary log repair --data ${flags.data} to drop the damage, or restore them from a backup`,
      );
    }
  });

  withPartitionOptions(
    log
      .command("repair")
      .description(
        "drop the damage `check` finds (and nothing else), after printing it; needs the broker stopped",
      )
      .option("--yes", "do not ask for confirmation"),
  ).action(async (flags: RepairFlags) => {
    const format = oneOf("--format", flags.format, ["text", "json"] as const);
    const filter = partitionFilter(flags);
    const lock = lockForRepair(flags.data);
    try {
      await repair(flags, format, filter, lock);
    } finally {
      lock.release();
    }
  });
}

async function repair(
  flags: RepairFlags,
  format: "text" | "json",
  filter: ReturnType<typeof partitionFilter>,
  lock: DirLock,
): Promise<void> {
  const reports = checkDataDir(flags.data, filter).filter((r) => r.damage.length > 0);
  if (reports.length === 0) {
    note("nothing to repair: every partition checked is intact");
    return;
  }
  note("repair will make these changes:");
  for (const report of reports) printReport(report, process.stderr);
  if (flags.yes !== true && !(await confirm("drop the damage listed above? [y/N] "))) {
    throw new CliError("REPAIR_DECLINED", "repair cancelled: nothing was changed");
  }
  const done = repairDataDir(lock, reports);
  const manual = reports.flatMap((r) => r.damage).filter((d) => d.repair === "manual");
  if (format === "json") printJson({ repaired: done, manual });
  else note(`repaired ${done.length} damaged places in ${reports.length} partitions`);
  if (manual.length > 0) {
    throw new CliError(
      "LOG_DAMAGED",
      `${manual.length} problems need a decision repair cannot make: ${manual.map((d) => `${d.file}: ${d.problem}`).join("; ")}`,
    );
  }
}

function withPartitionOptions(cmd: Command): Command {
  return cmd
    .option("--data <dir>", "data directory", `./${DEFAULT_DATA_DIR}`)
    .option("--topic <topic>", "only this topic")
    .option("--partition <n>", "only this partition (with --topic)")
    .option("--format <text|json>", "output format", "text");
}

function partitionFilter(flags: CheckFlags): { topic?: string; partition?: number } {
  if (flags.partition !== undefined && flags.topic === undefined) {
    throw new InvalidArgumentError("--partition needs --topic: name the topic it belongs to");
  }
  return {
    topic: flags.topic,
    partition:
      flags.partition === undefined
        ? undefined
        : parseInteger("--partition", flags.partition, 0, 9_999),
  };
}

/** One line per partition, one indented line per damage and what repair does to it. */
function printReport(report: PartitionReport, out: NodeJS.WritableStream = process.stdout): void {
  const state = report.damage.length === 0 ? "ok" : `DAMAGED (${report.damage.length})`;
  out.write(
    `${report.topic}-${report.partition}: ${state}; ${report.segments.length} segments, offsets ${report.logStartOffset} to ${report.logEndOffset - 1}, ${report.cleanShutdown ? "clean" : "unclean"} shutdown\n`,
  );
  for (const d of report.damage) out.write(`  ${describeDamage(d)}\n`);
}

function describeDamage(d: PartitionDamage): string {
  const offsets =
    d.toOffset > d.fromOffset
      ? `offsets ${d.fromOffset} to ${d.toOffset - 1} (at most ${d.toOffset - d.fromOffset} records) unreadable`
      : "no offset lost";
  const where = `${d.file} bytes ${d.position} to ${d.position + d.bytes} (${d.bytes} bytes)`;
  const action = {
    "cut-out": `repair drops these ${d.bytes} bytes and ${d.toOffset > d.fromOffset ? `offsets ${d.fromOffset} to ${d.toOffset - 1}` : "no record"}`,
    "remove-file": "repair deletes the file",
    "reset-checkpoint": "repair deletes the checkpoint (the next open re-verifies every segment)",
    manual: "repair leaves it: decide by hand",
  }[d.repair];
  return `${where}: ${d.problem}; ${offsets}; ${action}`;
}

async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await Promise.race([
      rl.question(question),
      new Promise<string>((resolve) => rl.once("close", () => resolve(""))),
    ]);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
