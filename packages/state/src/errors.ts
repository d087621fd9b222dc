import { TributaryError, type TributaryErrorOptions } from "@tributary/log";

/**
 * Every error the state package throws descends from {@link StateStoreError}, itself a
 * {@link TributaryError}, so callers branch on `code` as everywhere else. The log's code
 * union has no state-specific codes yet; these reuse the closest general ones.
 */
export class StateStoreError extends TributaryError {
  constructor(
    code: "INVALID_ARGUMENT" | "CORRUPT_RECORD" | "CLOSED" | "INTERNAL",
    message: string,
    options: TributaryErrorOptions = {},
  ) {
    super(code, message, options);
    this.name = "StateStoreError";
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
