#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { registerAbandonCommand } from "./commands/abandon.js";
import { registerSecurityCommands } from "./commands/acls.js";
import { registerBrokerCommand } from "./commands/broker.js";
import { registerConsoleCommand } from "./commands/console.js";
import { registerCompareCommand } from "./commands/compare.js";
import { registerConnectCommand } from "./commands/connect.js";
import { registerConsumeCommand } from "./commands/consume.js";
import { registerDescribeCommand } from "./commands/describe.js";
import { registerGroupsCommand } from "./commands/groups.js";
import { registerInitCommand } from "./commands/init.js";
import { registerLogCommand } from "./commands/log.js";
import { registerPlanCommand } from "./commands/plan.js";
import { registerProduceCommand } from "./commands/produce.js";
import { registerPromoteCommand } from "./commands/promote.js";
import { registerQueryCommand } from "./commands/query.js";
import { registerResetCommand } from "./commands/reset.js";
import { registerRunCommand } from "./commands/run.js";
import { registerTopicsCommand } from "./commands/topics.js";

/**
 * The `tributary` command. Each verb lives in commands/<verb>.ts and adds itself to the
 * program through its register function; this file only lists them and turns failures
 * into exit codes:
 *   0  done;  1  the command failed (message on stderr);
 *   2  bad usage: an unknown flag, a missing or malformed value (INVALID_ARGUMENT/CONFIG);
 *   3  `plan`: `run` would refuse this deploy without --allow-incompatible.
 * A stack trace is printed only with --verbose.
 */
const COMMANDS: ((program: Command) => void)[] = [
  registerBrokerCommand,
  registerTopicsCommand,
  registerProduceCommand,
  registerConsumeCommand,
  registerGroupsCommand,
  registerDescribeCommand,
  registerPlanCommand,
  registerResetCommand,
  registerRunCommand,
  registerCompareCommand,
  registerPromoteCommand,
  registerAbandonCommand,
  registerQueryCommand,
  registerInitCommand,
  registerSecurityCommands,
  registerConsoleCommand,
  registerLogCommand,
  registerConnectCommand,
];

const USAGE_CODES = new Set([
  "INVALID_ARGUMENT",
  "INVALID_CONFIG",
  "INVALID_TOPIC_NAME",
  "INVALID_GROUP_NAME",
]);

/**
 * `tributary topics describe … | head`: the reader went away, which is a normal way to stop
 * reading. Exit quietly, as a Unix filter does, unless a command handles it itself (consume
 * stops and commits what it printed).
 */
function quitOnClosedStdout(): void {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    if (process.stdout.listenerCount("error") === 1) process.exit(0);
  });
}

async function main(argv: string[]): Promise<void> {
  quitOnClosedStdout();
  const program = new Command("tributary")
    .description("A stream data platform for TypeScript: commit log, broker, stream processing.")
    .option("--verbose", "print stack traces and debug logs")
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .showSuggestionAfterError(true);
  for (const register of COMMANDS) register(program);
  quietErrors(program.commands);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    fail(err, argv.includes("--verbose"));
  }
}

/** Commander's own error output is replaced by fail()'s one line, at every depth. */
function quietErrors(commands: readonly Command[]): void {
  for (const cmd of commands) {
    cmd.exitOverride().configureOutput({ outputError: () => {} });
    quietErrors(cmd.commands);
  }
}

function fail(err: unknown, verbose: boolean): never {
  if (err instanceof CommanderError) {
    // --help exits through here with code 0; a bare `tributary` has already shown the help.
    if (err.exitCode === 0) process.exit(0);
    if (err.code === "commander.help" || err.code === "commander.helpDisplayed") process.exit(2);
    process.stderr.write(
      `tributary: ${err.message.replace(/^error: /, "").replace(/\s*\n\s*/g, " ")}\n`,
    );
    process.exit(2);
  }
  const e = err as Error & { code?: string };
  // One line whatever the message holds (compiler output, nested causes).
  const message = String(e?.message ?? err).replace(/\s*\n\s*/g, " ");
  process.stderr.write(`tributary: ${message}\n`);
  if (verbose && e?.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(typeof e?.code === "string" && USAGE_CODES.has(e.code) ? 2 : 1);
}

void main(process.argv);
