import type { Command } from "commander";
import { type Logger, pino } from "pino";
import { PinoPretty } from "pino-pretty";
import { oneOf } from "./flags.js";

export const LOG_FORMATS = ["json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * `--log-format` of `tributary run` and `tributary connect run`: how worker processes log
 * on stderr. Unset: pretty on a terminal (a person is watching), JSON lines otherwise (a
 * service manager or a log shipper is), as the broker logs.
 */
export function logFormatFlag(raw: string | undefined): LogFormat {
  if (raw === undefined) return process.stderr.isTTY === true ? "pretty" : "json";
  return oneOf("--log-format", raw, LOG_FORMATS);
}

/** Adds --log-format to a command that runs worker processes. */
export function addLogFormatOption(command: Command): Command {
  return command.option(
    "--log-format <format>",
    "how workers log on stderr: json (lines, as the broker) or pretty (default: pretty on a terminal, else json)",
  );
}

/**
 * The logger of one worker process, on stderr (fd 2, written synchronously, so a line
 * logged just before the process exits is not lost). Every line carries the bindings
 * (the worker's index, the app or connect file, pid). JSON lines are pino's, as the
 * broker writes them:
 *   {"level":40,"time":<ms>,"pid":<n>,"worker":<n>,"app":"<id>","event":"<what>",…,"msg":"<text>"}
 * pretty prints one line per message for people:
 *   [HH:MM:ss.l] WARN: worker <n>: <text> {<the other fields as JSON>}
 */
export function workerLogger(
  format: LogFormat,
  bindings: { worker: number } & Record<string, string | number>,
): Logger {
  const options = { base: { pid: process.pid, ...bindings } };
  const stderr = pino.destination({ dest: 2, sync: true });
  // stderr gone (the supervisor's pipe closed): nothing can be told, and a write error
  // must not keep the worker from stopping (an unhandled 'error' would throw in stop()).
  stderr.on("error", () => {});
  if (format === "json") return pino(options, stderr);
  return pino(
    options,
    PinoPretty({
      destination: stderr,
      colorize: process.stderr.isTTY === true,
      translateTime: "HH:MM:ss.l",
      singleLine: true,
      ignore: `pid,hostname,worker,${Object.keys(bindings).join(",")}`,
      messageFormat: "worker {worker}: {msg}",
    }),
  );
}
