import { type RunningConsole, startConsole } from "@tributary/console";
import { InvalidArgumentError } from "@tributary/log";
import type { Command } from "commander";
import { type LogFlags, addLogOptions, openCliLog } from "../log-flags.js";
import { parseInteger } from "../flags.js";

interface ConsoleFlags extends LogFlags {
  listen: string;
  sampleMs: string;
}

/**
 * `tributary console`: serves the web console (topics, groups and their lag, running
 * apps, a topic browser) for the log the shared flags name. Prints one line on stdout
 * when it serves (`console listening on http://...`), so scripts and tests can wait for
 * it. Loopback by default: the console has no login. SIGTERM or SIGINT stops it.
 */
export function registerConsoleCommand(program: Command): void {
  addLogOptions(
    program
      .command("console")
      .description("serve a web console for topics, consumer groups and running apps")
      .option(
        "--listen <host:port>",
        "where to serve the page (port 0 picks one)",
        "127.0.0.1:9690",
      )
      .option("--sample-ms <ms>", "how often topics and groups are sampled", "2000"),
  ).action(async (flags: ConsoleFlags) => {
    const { host, port } = parseListen(flags.listen);
    const sampleIntervalMs = parseInteger("--sample-ms", flags.sampleMs, 100, 3_600_000);
    const log = await openCliLog(flags);
    let running: RunningConsole;
    try {
      running = await startConsole({ log, host, port, sampleIntervalMs });
    } catch (e) {
      await log.close();
      throw e;
    }
    process.stdout.write(`console listening on ${running.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.once("SIGINT", () => process.exit(1)); // a second signal: give up waiting
        process.once("SIGTERM", () => process.exit(1));
        resolve();
      };
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });
    await running.close();
    await log.close();
  });
}

function parseListen(raw: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(raw);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || !Number.isInteger(port) || port > 65535) {
    throw new InvalidArgumentError(
      `--listen ${raw}: expected host:port, e.g. 127.0.0.1:9690 (port 0 picks a free one)`,
    );
  }
  return { host: m[1] ?? m[2]!, port };
}
