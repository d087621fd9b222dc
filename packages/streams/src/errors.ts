/**
 * Every error @tributary/streams throws descends from {@link StreamsError} and carries a
 * stable `code`, so the runtime and the CLI can branch on it without parsing messages.
 * `retriable` says whether the same call may succeed later.
 *
 * Serde failures surface as the log package's SerdeDecodeError/SerdeEncodeError (as the
 * `cause` of a {@link ProcessingError} when they happen inside a task).
 */
export const StreamsErrorCodes = [
  "INVALID_TOPOLOGY",
  "INVALID_ARGUMENT",
  "PROCESSING_FAILED",
  "UNKNOWN_STORE",
  "UNKNOWN_TOPIC",
  "NO_SUCH_RECORD",
  "CLOSED",
] as const;

export type StreamsErrorCode = (typeof StreamsErrorCodes)[number];

export interface StreamsErrorOptions extends ErrorOptions {
  retriable?: boolean;
}

export class StreamsError extends Error {
  readonly code: StreamsErrorCode;
  readonly retriable: boolean;

  constructor(code: StreamsErrorCode, message: string, options: StreamsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StreamsError";
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** The DSL was used in a way that cannot compile (duplicate names, a topic both read and
 * written by one sub-topology, …); the message says which call and how to fix it. */
export class TopologyError extends StreamsError {
  constructor(message: string) {
    super("INVALID_TOPOLOGY", message);
    this.name = "TopologyError";
  }
}

export class StreamsArgumentError extends StreamsError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
    this.name = "StreamsArgumentError";
  }
}

/**
 * A record could not be decoded or a processor threw while `errorHandling` is "fail".
 * Names where the record lives so it can be inspected (`tributary consume --offset`) or
 * skipped (`tributary reset --to-offset`).
 */
export class ProcessingError extends StreamsError {
  constructor(
    message: string,
    readonly where: {
      topic: string;
      partition: number;
      offset: number;
      taskId: string;
      processor: string | null;
    },
    cause: unknown,
  ) {
    super("PROCESSING_FAILED", message, { cause });
    this.name = "ProcessingError";
  }
}

export class UnknownStoreError extends StreamsError {
  constructor(
    readonly store: string,
    known: readonly string[],
  ) {
    super(
      "UNKNOWN_STORE",
      `no state store named '${store}' in this topology (stores: ${known.length === 0 ? "none" : known.join(", ")}): name it with Materialized { storeName } and connect it to the processor that uses it`,
    );
    this.name = "UnknownStoreError";
  }
}

/** A topic the test driver or runtime was asked about is not part of the topology. */
export class UnknownStreamsTopicError extends StreamsError {
  constructor(message: string) {
    super("UNKNOWN_TOPIC", message);
    this.name = "UnknownStreamsTopicError";
  }
}

/** Reading an empty test output topic (Kafka's NoSuchElementException). */
export class NoSuchRecordError extends StreamsError {
  constructor(topic: string) {
    super(
      "NO_SUCH_RECORD",
      `output topic '${topic}' has no record left to read: check isEmpty() first, or pipe input that produces one`,
    );
    this.name = "NoSuchRecordError";
  }
}

export class StreamsClosedError extends StreamsError {
  constructor(what: string) {
    super("CLOSED", `${what} is closed`);
    this.name = "StreamsClosedError";
  }
}
