import { TributaryError } from "@tributary/log";

/**
 * Errors of the command itself (the log's and streams' errors pass through as they are).
 * - APP_FILE: a topology file is missing, does not load, or exports no app;
 * - APP_RUNNING: the app has live members, so its offsets and state must not move;
 * - WORKERS_FAILED: `run` gave up on workers that kept dying;
 * - RECORDS_DROPPED: `run --fail-on-drop` saw records dead-lettered or dropped as late;
 * - PRODUCE_FAILED: the log refused a send of `produce` (the message says what is stored);
 * - LOG_DAMAGED: `log check` found damage (or `log repair` left some for a person);
 * - REPAIR_DECLINED: `log repair` was not confirmed, so nothing changed;
 * - DEPLOY_REFUSED: `run` found the topology incompatible with the deployed one (the plan
 *   says why) and was not given --allow-incompatible;
 * - DEPLOY_RECORD: the deployed topology's record could not be read or written;
 * - LOG_READ: one of the CLI's own topics could not be read to its end;
 * - VERSION_UNKNOWN: no side-by-side version of that name (the message lists those there are);
 * - VERSION_STATE: the version is in the wrong phase for the command (e.g. abandoning a
 *   promoted one, running the old app after a promote);
 * - PROMOTE_TIMEOUT: `promote` gave up waiting (nothing is undone: run it again).
 */
export type CliErrorCode =
  | "APP_FILE"
  | "APP_RUNNING"
  | "WORKERS_FAILED"
  | "RECORDS_DROPPED"
  | "PRODUCE_FAILED"
  | "LOG_DAMAGED"
  | "REPAIR_DECLINED"
  | "DEPLOY_REFUSED"
  | "DEPLOY_RECORD"
  | "LOG_READ"
  | "VERSION_UNKNOWN"
  | "VERSION_STATE"
  | "PROMOTE_TIMEOUT";

export class CliError extends TributaryError<CliErrorCode> {
  constructor(code: CliErrorCode, message: string, options: ErrorOptions = {}) {
    super(code, message, options);
    this.name = "CliError";
  }
}
