/**
 * Every error the log package throws descends from {@link TributaryError} and carries a
 * stable `code`, so callers (and the broker, which sends codes over the wire) can branch
 * on it without parsing messages. `retriable` says whether the same call may succeed later.
 */
export const ErrorCodes = [
  "INVALID_TOPIC_NAME",
  "INVALID_GROUP_NAME",
  "INVALID_CONFIG",
  "INVALID_ARGUMENT",
  "UNKNOWN_TOPIC",
  "UNKNOWN_PARTITION",
  "TOPIC_EXISTS",
  "OFFSET_OUT_OF_RANGE",
  "CORRUPT_RECORD",
  "RECORD_TOO_LARGE",
  "SERDE_DECODE",
  "SERDE_ENCODE",
  "DATA_DIR_LOCKED",
  "CLOSED",
  "ILLEGAL_GENERATION",
  "UNKNOWN_MEMBER",
  "REBALANCE_IN_PROGRESS",
  "GROUP_NOT_EMPTY",
  "FRAME_TOO_LARGE",
  "MALFORMED_FRAME",
  "UNKNOWN_REQUEST",
  "AUTHENTICATION_FAILED",
  "CONNECTION",
  "TIMEOUT",
  "INTERNAL",
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export interface TributaryErrorOptions extends ErrorOptions {
  retriable?: boolean;
}

/**
 * The base of every Tributary error. Other packages extend it with their own code unions
 * (`class StreamsError extends TributaryError<StreamsErrorCode>`), so one `instanceof`
 * check and one `code` field serve the whole system.
 */
export class TributaryError<C extends string = ErrorCode> extends Error {
  readonly code: C;
  readonly retriable: boolean;

  constructor(code: C, message: string, options: TributaryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TributaryError";
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A name (topic, group) breaks the naming rules; the message says which rule. */
export class InvalidNameError extends TributaryError {
  constructor(code: "INVALID_TOPIC_NAME" | "INVALID_GROUP_NAME", message: string) {
    super(code, message);
    this.name = "InvalidNameError";
  }
}

export class UnknownTopicError extends TributaryError {
  constructor(
    readonly topic: string,
    partition?: number,
  ) {
    super(
      partition === undefined ? "UNKNOWN_TOPIC" : "UNKNOWN_PARTITION",
      partition === undefined
        ? `topic '${topic}' does not exist: create it first (tributary topics create ${topic} --partitions N)`
        : `topic '${topic}' has no partition ${partition}`,
    );
    this.name = "UnknownTopicError";
  }
}

export class TopicExistsError extends TributaryError {
  constructor(readonly topic: string) {
    super("TOPIC_EXISTS", `topic '${topic}' already exists`);
    this.name = "TopicExistsError";
  }
}

export class InvalidConfigError extends TributaryError {
  constructor(message: string) {
    super("INVALID_CONFIG", message);
    this.name = "InvalidConfigError";
  }
}

export class InvalidArgumentError extends TributaryError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
    this.name = "InvalidArgumentError";
  }
}

export class OffsetOutOfRangeError extends TributaryError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly logStartOffset: number,
    readonly logEndOffset: number,
  ) {
    super(
      "OFFSET_OUT_OF_RANGE",
      `offset ${offset} is out of range for ${topic}-${partition} (log holds ${logStartOffset}..${logEndOffset})`,
    );
    this.name = "OffsetOutOfRangeError";
  }
}

/** Bytes on disk or on the wire failed their CRC or structure check. */
export class CorruptRecordError extends TributaryError {
  constructor(
    message: string,
    readonly location: {
      segment?: string;
      position?: number;
      offset?: number;
      /** The first offset after the damage, where a reader may resume (when known). */
      resumeAt?: number;
    } = {},
  ) {
    super("CORRUPT_RECORD", message);
    this.name = "CorruptRecordError";
  }
}

export class RecordTooLargeError extends TributaryError {
  constructor(message: string) {
    super("RECORD_TOO_LARGE", message);
    this.name = "RecordTooLargeError";
  }
}

/** A serde could not decode a record; names where the record lives. */
export class SerdeDecodeError extends TributaryError {
  constructor(
    message: string,
    readonly where: { topic?: string; partition?: number; offset?: number },
    cause?: unknown,
  ) {
    super("SERDE_DECODE", message, { cause });
    this.name = "SerdeDecodeError";
  }
}

export class SerdeEncodeError extends TributaryError {
  constructor(message: string, cause?: unknown) {
    super("SERDE_ENCODE", message, { cause });
    this.name = "SerdeEncodeError";
  }
}

export class DataDirLockedError extends TributaryError {
  constructor(
    readonly dataDir: string,
    readonly holder: string,
  ) {
    super(
      "DATA_DIR_LOCKED",
      `data directory ${dataDir} is locked by ${holder}: stop that process, or connect to its broker instead of opening the directory`,
    );
    this.name = "DataDirLockedError";
  }
}

export class ClosedError extends TributaryError {
  constructor(what: string, options: TributaryErrorOptions = {}) {
    super("CLOSED", `${what} is closed`, options);
    this.name = "ClosedError";
  }
}

/** Consumer-group protocol errors: the member must rejoin (or is a zombie). */
export class GroupError extends TributaryError {
  constructor(
    code: "ILLEGAL_GENERATION" | "UNKNOWN_MEMBER" | "REBALANCE_IN_PROGRESS" | "GROUP_NOT_EMPTY",
    message: string,
  ) {
    super(code, message, { retriable: code === "REBALANCE_IN_PROGRESS" });
    this.name = "GroupError";
  }
}

/** Broker protocol and connection errors. */
export class ProtocolError extends TributaryError {
  constructor(
    code:
      | "FRAME_TOO_LARGE"
      | "MALFORMED_FRAME"
      | "UNKNOWN_REQUEST"
      | "AUTHENTICATION_FAILED"
      | "CONNECTION"
      | "TIMEOUT",
    message: string,
    options: TributaryErrorOptions = {},
  ) {
    super(code, message, options);
    this.name = "ProtocolError";
  }
}
