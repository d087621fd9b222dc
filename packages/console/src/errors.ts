import { TributaryError } from "@tributary/log";

/**
 * Errors of the console (the log's errors pass through as they are).
 * - BAD_REQUEST: a browse request named no topic, a partition the topic lacks, or a
 *   malformed number or time; the message says which parameter and what is accepted;
 * - BAD_LISTEN: --listen is not host:port;
 * - ASSET_MISSING: a browser library (mermaid, uPlot) is not installed beside the console.
 */
export type ConsoleErrorCode = "BAD_REQUEST" | "BAD_LISTEN" | "ASSET_MISSING";

export class ConsoleError extends TributaryError<ConsoleErrorCode> {
  constructor(code: ConsoleErrorCode, message: string, options: ErrorOptions = {}) {
    super(code, message, options);
    this.name = "ConsoleError";
  }
}
