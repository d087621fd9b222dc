import { TributaryError, type TributaryErrorOptions } from "@tributary/log";

/**
 * Every error @tributary/connect throws descends from {@link ConnectError} and carries a
 * stable `code`. `retriable` says whether the same call may succeed later (a task that
 * fails with a retriable error is restarted with backoff; the others stop the task).
 */
export const ConnectErrorCodes = [
  "INVALID_CONFIG",
  "CONNECT_FILE",
  "UNKNOWN_CONNECTOR_TYPE",
  "SOURCE_FAILED",
  "SINK_FAILED",
  "BAD_RECORD",
  "POSTGRES",
  "CLOSED",
] as const;

export type ConnectErrorCode = (typeof ConnectErrorCodes)[number];

export class ConnectError extends TributaryError<ConnectErrorCode> {
  constructor(code: ConnectErrorCode, message: string, options: TributaryErrorOptions = {}) {
    super(code, message, options);
    this.name = "ConnectError";
  }
}

/** A connector config is wrong; `field` is its path, e.g. `connectors[1].config.tables`. */
export class ConnectConfigError extends ConnectError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super("INVALID_CONFIG", `${field}: ${message}`);
    this.name = "ConnectConfigError";
  }
}

/**
 * A sink could not take one record (not an envelope, no key, a value the target rejects).
 * With `errors.tolerance: "all"` the runtime sends it to the dead-letter topic and goes on
 * with the rest of the batch; with "none" the task fails.
 */
export class BadRecordError extends ConnectError {
  constructor(
    readonly record: { topic: string; partition: number; offset: number },
    message: string,
    options: TributaryErrorOptions = {},
  ) {
    super(
      "BAD_RECORD",
      `${record.topic}-${record.partition}@${record.offset}: ${message}`,
      options,
    );
    this.name = "BadRecordError";
  }
}
