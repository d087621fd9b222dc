import type { WarnFields } from "./worker-options.js";
import { type LogClient, type Producer, retryWithBackoff } from "@tributary/log";
import {
  type CommitBarrier,
  type KeyValueStoreOptions,
  LoggedMemoryKeyValueStore,
  openKeyValueStore,
  openSessionStore,
  openWindowStore,
  PersistentKeyValueStore,
  PersistentSessionStore,
  PersistentWindowStore,
  type SessionStore as StateSessionStore,
  type StateStore,
  StateStoreError,
  type KeyValueStore as StateKeyValueStore,
  type WindowStore as StateWindowStore,
} from "@tributary/state";
import { PrefetchMissError, StreamsArgumentError } from "../errors.js";
import type { StoreSpec } from "../topology/node-spec.js";

/**
 * What the runtime needs of every store of a task besides what processors see: the
 * asynchronous half (prefetch for a batch, the commit steps, an awaitable close).
 * PersistentKeyValueStore, LoggedMemoryKeyValueStore and the persistent window and
 * session stores all provide it.
 */
export interface RuntimeStore extends StateStore {
  /** Makes these keys (in the store's key encoding) readable synchronously. */
  prefetchBytes(keys: readonly Buffer[]): Promise<void>;
  flush(): void;
  commit(): Promise<void>;
  commitNeeded(): boolean;
  closed(): Promise<void>;
}

export interface StoreFactoryOptions {
  applicationId: string;
  stateDir: string;
  log: LogClient;
  /** Shared by every store of the worker: their changelog appends batch together. */
  producer: Producer;
  /**
   * Exactly-once: `producer` sends in the worker's transaction, each store's RocksDB batch
   * waits here until it commits, and restore reads the changelogs read_committed.
   */
  barrier?: CommitBarrier;
  engine: "rocksdb" | "memory";
  cacheBytes: number;
  /** Record cache of each aggregation store (forwarding on flush); 0: every update. */
  recordCacheBytes?: number;
  /** How long to retry a store whose RocksDB lock another process still holds. */
  lockWaitMs: number;
  onRestoreProgress?: (taskId: string, store: string, done: number, total: number) => void;
  warn?: (message: string, fields?: WarnFields) => void;
}

/**
 * Opens a task's stores (Kafka's ProcessorStateManager at task creation): RocksDB under
 * `<stateDir>/<applicationId>/<taskId>/<store>/`, restored from partition p of its
 * changelog before the task processes anything, wrapped for processors.
 *
 * A store whose directory another worker still has open (it owned the task a moment ago
 * and is closing it) fails with a retriable lock error; opening retries until
 * `lockWaitMs`, as Kafka Streams retries its task-directory lock.
 */
export async function openTaskStores(
  specs: readonly StoreSpec[],
  taskId: string,
  partition: number,
  options: StoreFactoryOptions,
): Promise<Map<string, RuntimeStore>> {
  const stores = new Map<string, RuntimeStore>();
  try {
    for (const spec of specs) {
      const common: CommonOptions = {
        applicationId: options.applicationId,
        taskId,
        name: spec.name,
        engine: options.engine,
        stateDir: options.stateDir,
        cacheBytes: spec.caching === false ? 0 : options.cacheBytes,
        ...(spec.changelogTopic === null
          ? {}
          : {
              changelog: {
                client: options.log,
                partition,
                producer: options.producer,
                ...(options.barrier === undefined
                  ? {}
                  : { barrier: options.barrier, isolation: "read_committed" as const }),
              },
            }),
        onRestoreProgress: (done: number, total: number) =>
          options.onRestoreProgress?.(taskId, spec.name, done, total),
        ...(options.warn === undefined
          ? {}
          : {
              warn: (message: string) =>
                options.warn?.(message, { event: "store-warning", task: taskId, store: spec.name }),
            }),
      };
      stores.set(spec.name, await withLockRetry(options.lockWaitMs, () => openOne(spec, common)));
    }
  } catch (e) {
    for (const s of stores.values()) s.close();
    await Promise.all([...stores.values()].map((s) => s.closed().catch(() => {})));
    throw e;
  }
  return stores;
}

type CommonOptions = Omit<KeyValueStoreOptions<unknown, unknown>, "keySerde" | "valueSerde">;

/** A store of @tributary/state of any kind, as opened for one spec. */
export type StateStoreOfSpec =
  | StateKeyValueStore<unknown, unknown>
  | StateWindowStore<unknown, unknown>
  | StateSessionStore<unknown, unknown>;

/**
 * One store of the spec's type, with the engine, restore and change-logging the state
 * package builds: window stores (windowed aggregations, join buffers) and session stores
 * keep `retentionMs` behind the newest time they saw and drop older segments at commit;
 * key-value stores a processor scans (suppression buffer, join pending records) are held
 * whole in memory over their change-logged store.
 */
async function openOne(spec: StoreSpec, common: CommonOptions): Promise<RuntimeStore> {
  const serdes = { keySerde: spec.keySerde, valueSerde: spec.valueSerde };
  let state: StateStoreOfSpec;
  if (spec.type === "window" || spec.type === "session") {
    const timed = { ...common, ...serdes, retentionMs: retentionOf(spec) };
    state =
      spec.type === "window"
        ? await openWindowStore<unknown, unknown>({
            ...timed,
            retainDuplicates: spec.retainDuplicates ?? false,
          })
        : await openSessionStore<unknown, unknown>(timed);
  } else state = await openKeyValueStore<unknown, unknown>({ ...common, ...serdes });
  if (spec.inMemory !== true || spec.type === "window" || spec.type === "session") {
    return processorStore(spec, state, common.taskId);
  }
  try {
    const kv = state as StateKeyValueStore<unknown, unknown>;
    return await LoggedMemoryKeyValueStore.open(kv, spec.keySerde, spec.valueSerde);
  } catch (e) {
    await state.close().catch(() => {});
    throw e;
  }
}

/** The retention a window or session store spec must carry. */
export function retentionOf(spec: StoreSpec): number {
  if (spec.retentionMs === undefined) {
    throw new StreamsArgumentError(
      `${spec.type} store '${spec.name}' has no retentionMs: the DSL sets it from the windows (size + grace); give one to a store built by hand`,
    );
  }
  return spec.retentionMs;
}

/**
 * What processors and the runtime see of an opened state store (synchronously: the test
 * driver builds its memory stores so). A key-value spec held in memory needs a store
 * whose engine scans synchronously here (memory); openOne loads a RocksDB one itself.
 */
export function processorStore(
  spec: StoreSpec,
  state: StateStoreOfSpec,
  taskId: string,
): RuntimeStore {
  if (spec.type === "window") {
    return new PersistentWindowStore(state as StateWindowStore<unknown, unknown>);
  }
  if (spec.type === "session") {
    return new PersistentSessionStore(state as StateSessionStore<unknown, unknown>);
  }
  const kv = state as StateKeyValueStore<unknown, unknown>;
  if (spec.inMemory !== true) {
    // The state store's miss, told as the runtime's: which task, and what to change.
    return new PersistentKeyValueStore(kv, {
      onMiss: (e) => new PrefetchMissError(kv.name, taskId, e),
    });
  }
  return LoggedMemoryKeyValueStore.openSync(kv, spec.keySerde, spec.valueSerde);
}

function withLockRetry<T>(waitMs: number, open: () => Promise<T>): Promise<T> {
  return retryWithBackoff(open, {
    retryIf: (e) => e instanceof StateStoreError && e.code === "STORE_LOCKED",
    initialDelayMs: 50,
    maxDelayMs: 1000,
    timeoutMs: waitMs,
  });
}
