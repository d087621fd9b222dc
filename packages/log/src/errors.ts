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
  "PRODUCER_FENCED",
  "INVALID_TXN_STATE",
  "CONCURRENT_TRANSACTIONS",
  "INVALID_PRODUCER_ID_MAPPING",
  "UNSUPPORTED_COMPRESSION",
  "OUT_OF_ORDER_SEQUENCE",
  "SERDE_DECODE",
  "SERDE_ENCODE",
  "DATA_DIR_LOCKED",
  "CLOSED",
  "ILLEGAL_GENERATION",
  "UNKNOWN_MEMBER",
  "FENCED_INSTANCE_ID",
  "REBALANCE_IN_PROGRESS",
  "UNSTABLE_OFFSET_COMMIT",
  "GROUP_NOT_EMPTY",
  "FRAME_TOO_LARGE",
  "MALFORMED_FRAME",
  "UNKNOWN_REQUEST",
  "AUTHENTICATION_FAILED",
  "AUTHORIZATION_FAILED",
  "CONNECTION",
  "TIMEOUT",
  "DISK_FULL",
  "TOO_MANY_OPEN_FILES",
  "STORAGE_ERROR",
  "UNSUPPORTED",
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

/**
 * A transactional request refused (transactions/transaction-coordinator.ts, and the Kafka
 * backend's transactional producer; a fenced producer gets ProducerFencedError):
 * INVALID_PRODUCER_ID_MAPPING (the id holds another producer id), INVALID_TXN_STATE (e.g.
 * commit after abort, send outside a transaction), CONCURRENT_TRANSACTIONS (retriable: the
 * last transaction's markers are still being written).
 */
export class TransactionError extends TributaryError {
  constructor(
    code: "INVALID_TXN_STATE" | "CONCURRENT_TRANSACTIONS" | "INVALID_PRODUCER_ID_MAPPING",
    message: string,
  ) {
    super(code, message, { retriable: code === "CONCURRENT_TRANSACTIONS" });
    this.name = "TransactionError";
  }
}

/** A capability this log does not have (yet); the message says where it exists. */
export class UnsupportedError extends TributaryError {
  constructor(message: string) {
    super("UNSUPPORTED", message);
    this.name = "UnsupportedError";
  }
}

/**
 * A record batch is compressed (Kafka's attribute bits 0-2): Tributary writes and reads
 * uncompressed batches only. The message names the codec.
 */
export class UnsupportedCompressionError extends TributaryError {
  constructor(message: string) {
    super("UNSUPPORTED_COMPRESSION", message);
    this.name = "UnsupportedCompressionError";
  }
}

/**
 * An idempotent producer's batch does not carry the next sequence number of its partition
 * (storage/producer-state.ts): a batch before it is missing. Retriable: the missing batch
 * is usually a retry still in flight, and once it lands this one fits.
 */
export class OutOfOrderSequenceError extends TributaryError {
  constructor(message: string) {
    super("OUT_OF_ORDER_SEQUENCE", message, { retriable: true });
    this.name = "OutOfOrderSequenceError";
  }
}

/** A producer's epoch is older than the partition has seen for its id: a newer instance took over. */
export class ProducerFencedError extends TributaryError {
  constructor(message: string) {
    super("PRODUCER_FENCED", message);
    this.name = "ProducerFencedError";
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
    code:
      | "ILLEGAL_GENERATION"
      | "UNKNOWN_MEMBER"
      | "FENCED_INSTANCE_ID"
      | "REBALANCE_IN_PROGRESS"
      | "UNSTABLE_OFFSET_COMMIT"
      | "GROUP_NOT_EMPTY",
    message: string,
  ) {
    super(code, message, {
      retriable: code === "REBALANCE_IN_PROGRESS" || code === "UNSTABLE_OFFSET_COMMIT",
    });
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

/** A login failed: unknown user, wrong password, or a malformed exchange. Not retriable. */
export class AuthenticationError extends TributaryError {
  constructor(message: string) {
    super("AUTHENTICATION_FAILED", message);
    this.name = "AuthenticationError";
  }
}

/**
 * An authenticated principal lacks a permission: names the principal, the operation and
 * the resource, so the fix (`tributary acls add ...`) can be read off the message.
 */
export class AuthorizationError extends TributaryError {
  constructor(
    readonly principal: string,
    readonly operation: string,
    readonly resourceType: string,
    readonly resourceName: string,
  ) {
    super(
      "AUTHORIZATION_FAILED",
      `principal '${principal}' may not ${operation.toUpperCase()} ${resourceType} '${resourceName}': ask an operator for an ACL (tributary acls add --principal ${principal} --operation ${operation} --${resourceType} ${resourceName})`,
    );
    this.name = "AuthorizationError";
  }
}

/** The system calls' error codes that a StorageError stands for, by the code it gets. */
const STORAGE_ERRNO: Record<string, StorageErrorCode> = {
  ENOSPC: "DISK_FULL",
  EDQUOT: "DISK_FULL",
  EMFILE: "TOO_MANY_OPEN_FILES",
  ENFILE: "TOO_MANY_OPEN_FILES",
};

export type StorageErrorCode = "DISK_FULL" | "TOO_MANY_OPEN_FILES" | "STORAGE_ERROR";

/**
 * A partition could not write to its files (a full disk, no file descriptor left, an I/O
 * error). Retriable: the partition refuses writes while the cause lasts and takes them
 * again by itself once it is gone, so a producer that retries succeeds later. `errno` is
 * the failed system call's code (ENOSPC, EMFILE, ...).
 */
export class StorageError extends TributaryError<StorageErrorCode> {
  readonly errno: string;

  constructor(message: string, cause: unknown) {
    const errno = errnoOf(cause) ?? "EIO";
    super(STORAGE_ERRNO[errno] ?? "STORAGE_ERROR", message, { cause, retriable: true });
    this.name = "StorageError";
    this.errno = errno;
  }
}

/** The `code` of a failed system call (ENOSPC, EMFILE, ...), or undefined for other errors. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** What an operator does about a storage failure with this errno. */
export function storageRemedy(errno: string): string {
  switch (STORAGE_ERRNO[errno]) {
    case "DISK_FULL":
      return "the disk is full: free space (lower retention.ms or retention.bytes, delete topics, or grow the volume); writes resume by themselves, retry the send";
    case "TOO_MANY_OPEN_FILES":
      return "no file descriptor is left: raise the limit (ulimit -n / LimitNOFILE) or close connections; writes resume by themselves, retry the send";
    default:
      return "check the disk and the kernel log; writes are retried by themselves";
  }
}
