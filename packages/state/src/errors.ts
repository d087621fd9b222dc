import { TributaryError, type TributaryErrorOptions } from "@tributary/log";

/**
 * The codes of the state package's errors: the log's general ones where they fit, and
 * its own where a caller must tell a case apart:
 * - STORE_LOCKED: the store's files are open in another process or store instance
 *   (RocksDB's LOCK); retriable, as the other holder is usually about to close them.
 */
export type StateErrorCode =
  | "INVALID_ARGUMENT"
  | "CORRUPT_RECORD"
  | "CLOSED"
  | "INTERNAL"
  | "STORE_LOCKED";

/**
 * Every error the state package throws descends from {@link StateStoreError}, itself a
 * {@link TributaryError}, so callers branch on `code` as everywhere else, never on the
 * message.
 */
export class StateStoreError extends TributaryError<StateErrorCode> {
  constructor(code: StateErrorCode, message: string, options: TributaryErrorOptions = {}) {
    super(code, message, options);
    this.name = "StateStoreError";
  }
}

/** The store's files are open elsewhere (RocksDB's LOCK is held): retry once it closes. */
export class StoreLockedError extends StateStoreError {
  constructor(
    readonly dir: string,
    cause: unknown,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      "STORE_LOCKED",
      `store at ${dir} is open in another process or by another store instance (${detail}): close that one first`,
      { cause, retriable: true },
    );
    this.name = "StoreLockedError";
  }
}

/** A store, application or task name would leave the state directory or is malformed. */
export class InvalidStoreNameError extends StateStoreError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
    this.name = "InvalidStoreNameError";
  }
}

/**
 * A synchronous read reached the RocksDB engine for a key that was neither cached nor
 * prefetched. RocksDB reads are asynchronous, so the runtime must call `prefetch(keys)`
 * with every key a batch reads before running the batch.
 */
export class KeyNotPrefetchedError extends StateStoreError {
  constructor(
    readonly store: string,
    key: Buffer,
  ) {
    super(
      "INVALID_ARGUMENT",
      `store '${store}': key ${describeKey(key)} was read synchronously but not prefetched: ` +
        "call `await store.prefetch(keys)` with every key the batch reads before processing it",
    );
    this.name = "KeyNotPrefetchedError";
  }
}

/** A key in the range the store reserves for its own metadata. */
export class ReservedKeyError extends StateStoreError {
  constructor(store: string, key: Buffer) {
    super(
      "INVALID_ARGUMENT",
      `store '${store}': key ${describeKey(key)} starts with 00 00 ff, which is reserved for the store's metadata: use another key encoding`,
    );
    this.name = "ReservedKeyError";
  }
}

/** The local store files are unreadable or of another format. Opening moves them aside. */
export class StoreCorruptError extends StateStoreError {
  constructor(
    readonly dir: string,
    message: string,
    cause?: unknown,
  ) {
    super("CORRUPT_RECORD", `store at ${dir}: ${message}`, { cause });
    this.name = "StoreCorruptError";
  }
}

export class StoreClosedError extends StateStoreError {
  constructor(store: string, why = "is closed") {
    super("CLOSED", `store '${store}' ${why}`);
    this.name = "StoreClosedError";
  }
}

/**
 * A commit failed half way (changelog append or local write). The in-memory state no
 * longer matches the changelog: close the store and reopen it, which restores the tail.
 */
export class StoreCommitFailedError extends StateStoreError {
  constructor(store: string, cause: unknown) {
    super(
      "INTERNAL",
      `store '${store}': commit failed (${cause instanceof Error ? cause.message : String(cause)}); close the store and reopen it to restore from its changelog`,
      { cause, retriable: true },
    );
    this.name = "StoreCommitFailedError";
  }
}

export function describeKey(key: Buffer): string {
  const hex = key.subarray(0, 32).toString("hex");
  return `0x${hex}${key.length > 32 ? `… (${key.length} bytes)` : ""}`;
}
