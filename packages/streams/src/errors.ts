import { TributaryError, type TributaryErrorOptions } from "@tributary/log";

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
  "PREFETCH_MISS",
  "COPARTITIONING",
  "MISSING_TOPIC",
  "WORKER_FAILED",
  "STORE_NOT_CONNECTED",
  "UNKNOWN_CHILD",
  "KEY_CHANGED",
  "STORE_NOT_READY",
  "NOT_OWNER",
  "UNKNOWN_APP",
  "BAD_KEY",
  "BAD_REQUEST",
  "REQUEST_TOO_LARGE",
  "UNAUTHORIZED",
  "QUERY_FAILED",
  "CLIENT_CLOSED",
  "COMMIT_ABORTED",
] as const;

export type StreamsErrorCode = (typeof StreamsErrorCodes)[number];

export type StreamsErrorOptions = TributaryErrorOptions;

/** The base of the streams errors: a TributaryError, so one `instanceof` and one `code`
 * field serve the whole system. */
export class StreamsError extends TributaryError<StreamsErrorCode> {
  constructor(code: StreamsErrorCode, message: string, options: StreamsErrorOptions = {}) {
    super(code, message, options);
    this.name = "StreamsError";
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

/**
 * An exactly-once commit failed and its transaction was aborted: none of its outputs,
 * changelog records or input offsets count. The worker rolls its tasks back to the last
 * commit (stores reopened at their committed changelog offset, inputs re-read from the
 * committed offsets) and goes on; `cause` says what failed.
 */
export class CommitAbortedError extends StreamsError {
  constructor(cause: unknown) {
    super(
      "COMMIT_ABORTED",
      `exactly-once commit aborted (${cause instanceof Error ? cause.message : String(cause)}): its outputs, changelog records and input offsets were discarded; the tasks resume from the last commit`,
      { cause, retriable: true },
    );
    this.name = "CommitAbortedError";
  }
}

export class StreamsClosedError extends StreamsError {
  constructor(what: string) {
    super("CLOSED", `${what} is closed`);
    this.name = "StreamsClosedError";
  }
}

/**
 * A processor read a key from a RocksDB-backed store that the runtime did not prefetch
 * for the batch. The runtime prefetches, for every store of a task, the keys of the
 * records arriving at the task's sources (what every built-in stateful operation reads);
 * a processor reading other keys is a bug to fix, not a poison record, so this stops the
 * worker instead of going to the dead-letter topic.
 */
export class PrefetchMissError extends StreamsError {
  constructor(
    readonly store: string,
    readonly taskId: string,
    cause: unknown,
  ) {
    super(
      "PREFETCH_MISS",
      `task ${taskId}: store '${store}' was read with a key that is not the key of a record at the task's source, so it was not prefetched (${cause instanceof Error ? cause.message : String(cause)}). A processor may only read its store by the key of the record it processes; re-key with selectKey/groupBy (which repartitions) first`,
      { cause },
    );
    this.name = "PrefetchMissError";
  }
}

/** Topics a sub-topology reads together (or a store's inputs) differ in partition count. */
export class CopartitioningError extends StreamsError {
  constructor(message: string) {
    super("COPARTITIONING", message);
    this.name = "CopartitioningError";
  }
}

/** A topic the app reads or writes (and does not create itself) does not exist. */
export class MissingTopicError extends StreamsError {
  constructor(message: string) {
    super("MISSING_TOPIC", message);
    this.name = "MissingTopicError";
  }
}

/** The worker stopped because of an error it cannot go on after; `cause` is that error. */
export class WorkerFailedError extends StreamsError {
  constructor(message: string, cause: unknown) {
    super("WORKER_FAILED", message, { cause });
    this.name = "WorkerFailedError";
  }
}

/**
 * A processor asked for a store it is not connected to. Like the other errors of using the
 * Processor API wrongly (below), it is a bug in the processor, not a poison record: it
 * stops the task instead of going to the dead-letter topic.
 */
export class StoreNotConnectedError extends StreamsError {
  constructor(
    readonly store: string,
    readonly processor: string,
    connected: readonly string[],
    inTopology: boolean,
  ) {
    const how = inTopology
      ? `pass its name to process(supplier, '${store}') (or processValues) of the processor that uses it`
      : `add it with builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore('${store}'), keySerde, valueSerde)) (or a window or session store builder) and pass its name to process(supplier, '${store}')`;
    super(
      "STORE_NOT_CONNECTED",
      `processor '${processor}' is not connected to a store named '${store}' (connected: ${connected.length === 0 ? "none" : connected.join(", ")}): ${how}`,
    );
    this.name = "StoreNotConnectedError";
  }
}

/** `context.forward(record, childName)` named no child of the processor. */
export class UnknownChildError extends StreamsError {
  constructor(
    readonly child: string,
    readonly processor: string,
    children: readonly string[],
  ) {
    super(
      "UNKNOWN_CHILD",
      `processor '${processor}' has no child named '${child}' (children: ${children.length === 0 ? "none" : children.join(", ")}): a child is an operation chained after process(), named with { name }, e.g. .process(supplier).filter(pred, { name: '${child}' })`,
    );
    this.name = "UnknownChildError";
  }
}

/** A processor run by processValues forwarded a record with another key. */
export class KeyChangedError extends StreamsError {
  constructor(readonly processor: string) {
    super(
      "KEY_CHANGED",
      `processor '${processor}' runs in processValues, which promises downstream the input's keys, but it forwarded a record with another key: forward record.withValue(v), or use process() (which repartitions before a later aggregation)`,
    );
    this.name = "KeyChangedError";
  }
}

/** Errors that mean the topology's code is wrong, not the record: they stop the task. */
export function isProcessorBug(e: unknown): boolean {
  return (
    e instanceof PrefetchMissError ||
    e instanceof StoreNotConnectedError ||
    e instanceof UnknownChildError ||
    e instanceof KeyChangedError
  );
}

/** The codes a query answer can carry (docs/interactive-queries.md "Errors"). */
export type QueryErrorCode = Extract<
  StreamsErrorCode,
  | "STORE_NOT_READY"
  | "NOT_OWNER"
  | "UNKNOWN_APP"
  | "UNKNOWN_STORE"
  | "BAD_KEY"
  | "BAD_REQUEST"
  | "REQUEST_TOO_LARGE"
  | "UNAUTHORIZED"
  | "QUERY_FAILED"
  | "CLIENT_CLOSED"
>;

/**
 * An interactive query failed: what a worker answered, or why no worker could answer.
 * STORE_NOT_READY and NOT_OWNER are retriable (a rebalance or a restore is under way);
 * the query client retries them itself until its timeout and then throws this.
 */
export class QueryError extends StreamsError {
  declare readonly code: QueryErrorCode;
  /** NOT_OWNER, STORE_NOT_READY: the task and partition the key belongs to. */
  readonly taskId: string | undefined;
  readonly partition: number | undefined;

  constructor(
    code: QueryErrorCode,
    message: string,
    options: StreamsErrorOptions & { taskId?: string; partition?: number } = {},
  ) {
    super(code, message, {
      retriable: code === "STORE_NOT_READY" || code === "NOT_OWNER",
      ...options,
    });
    this.name = "QueryError";
    this.taskId = options.taskId;
    this.partition = options.partition;
  }
}
