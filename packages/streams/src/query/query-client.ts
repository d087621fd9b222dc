import { QueryError } from "../errors.js";
import type { App } from "../topology/app.js";
import type { KTable } from "../dsl/ktable.js";
import type { Windowed } from "../windows/windowed.js";
import { querySecretFromEnv } from "./query-secret.js";
import { type RoutedEntry, RoutedQueries, type RoutedQueriesOptions } from "./routed-queries.js";
import { keyBytesOf, PartitionCounts, type RoutedStore, routedStore } from "./store-routing.js";

export interface KeyValueEntry<K, V> {
  key: K;
  value: V;
}

export interface WindowedEntry<K, V> {
  key: K;
  /** The window's or session's start. */
  start: number;
  /** Session stores: the session's end (inclusive). */
  end?: number;
  value: V;
}

/** A point read with where its answer came from. */
export interface PointRead<V> {
  value: V | null;
  /** Answered by a standby copy (the client's `allowStale`): `lag` changelog records
   * behind the active task at the time of the read. */
  stale: boolean;
  lag: number;
}

/** Queries of a key-value store (a table, an aggregation). */
export interface KeyValueStoreQuery<K, V> {
  /** The key's value, or null: asked of the one worker that holds the key's partition. */
  get(key: K): Promise<V | null>;
  /** `get`, saying whether a standby answered (allowStale) and how far behind it was. */
  getWithMetadata(key: K): Promise<PointRead<V>>;
  /** from <= key <= to in serialized-key order (Kafka's range), from every worker. */
  range(from: K, to: K, options?: { limit?: number }): Promise<KeyValueEntry<K, V>[]>;
  /** Every entry, from every worker, in serialized-key order. */
  all(options?: { limit?: number }): Promise<KeyValueEntry<K, V>[]>;
}

/** Queries of a windowed aggregation's store (time windows or sessions). */
export interface WindowedStoreQuery<K, V> {
  /** The key's windows with start in [timeFrom, timeTo] (sessions: that overlap it). */
  fetch(key: K, timeFrom?: number, timeTo?: number): Promise<WindowedEntry<K, V>[]>;
  /** Every window (or session) within the time bounds, from every worker, by key. */
  all(options?: {
    timeFrom?: number;
    timeTo?: number;
    limit?: number;
  }): Promise<WindowedEntry<K, V>[]>;
}

/** What `store(name)` returns for a table of the topology's QueryableStores. */
export type StoreQueryOf<T> =
  T extends KTable<Windowed<infer K>, infer V>
    ? WindowedStoreQuery<K, V>
    : T extends KTable<infer K, infer V>
      ? KeyValueStoreQuery<K, V>
      : never;

export interface QueryClient<S> {
  readonly applicationId: string;
  /** The store the topology returned under `name`, typed by its table. */
  store<N extends keyof S & string>(name: N): StoreQueryOf<S[N]>;
  /** Closes the client's pooled connections to the workers; later queries fail with
   * CLIENT_CLOSED. Idle connections never keep a process alive, so this is for long-lived
   * processes that drop a client (and for tests). */
  close(): void;
}

export interface QueryClientOptions extends RoutedQueriesOptions {
  /**
   * Point reads (get, fetch) may be answered by a worker keeping a standby copy of the
   * key's task (numStandbyReplicas) when the active one is not reachable, and scans (range,
   * all) take a partition no active task answered from a standby copy: answers may be
   * behind (getWithMetadata says by how much). Default false: only the active task answers.
   */
  allowStale?: boolean;
}

/**
 * A typed client of an app's stores, routed to the workers that hold them
 * (docs/interactive-queries.md). The store names and their key and value types come from
 * the tables the app's topology function returns:
 *
 *   const q = queryClient(app, { log });
 *   const n: number | null = await q.store("counts").get("kafka");
 *
 * A key is serialized by the store's key serde here and routed by the partitioner the
 * app's sinks use, straight to the worker holding its task; answers are decoded with the
 * store's serdes. The secret defaults to TRIBUTARY_QUERY_SECRET(_FILE).
 */
export function queryClient<S>(app: App<S>, options: QueryClientOptions): QueryClient<S> {
  const topology = app.build();
  const secret = options.secret ?? querySecretFromEnv();
  const routed = new RoutedQueries(app.applicationId, {
    ...options,
    ...(secret === undefined ? {} : { secret }),
  });
  const partitions = new PartitionCounts(options.log);
  const stale = options.allowStale === true ? { allowStale: true } : {};
  return {
    applicationId: app.applicationId,
    store<N extends keyof S & string>(name: N): StoreQueryOf<S[N]> {
      const store = routedStore(topology, name);
      const query =
        store.spec.type === "key-value"
          ? keyValueQuery(routed, partitions, store, stale)
          : windowedQuery(routed, partitions, store, stale);
      return query as StoreQueryOf<S[N]>;
    },
    close: () => routed.close(),
  };
}

function keyValueQuery(
  routed: RoutedQueries,
  partitions: PartitionCounts,
  store: RoutedStore,
  stale: { allowStale?: boolean },
): KeyValueStoreQuery<unknown, unknown> {
  const { spec } = store;
  const entry = (e: RoutedEntry) => ({
    key: decodeKey(store, e.k),
    value: decodeValue(store, e.v),
  });
  const read = async (key: unknown): Promise<PointRead<unknown>> => {
    const { bytes, taskId } = await locate(partitions, store, key);
    const r = await routed.point(
      spec.name,
      "get",
      { b64: bytes.toString("base64") },
      stale,
      taskId,
    );
    const e = r.entries[0];
    return {
      value: e === undefined ? null : decodeValue(store, e.v),
      stale: r.stale === true,
      lag: r.lag ?? 0,
    };
  };
  return {
    async get(key) {
      return (await read(key)).value;
    },
    getWithMetadata: read,
    async range(from, to, options = {}) {
      const r = await routed.scan(spec.name, "range", {
        from: b64(store, from, "from"),
        to: b64(store, to, "to"),
        ...options,
        ...stale,
      });
      return r.entries.map(entry);
    },
    async all(options = {}) {
      return (await routed.scan(spec.name, "all", { ...options, ...stale })).entries.map(entry);
    },
  };
}

function windowedQuery(
  routed: RoutedQueries,
  partitions: PartitionCounts,
  store: RoutedStore,
  stale: { allowStale?: boolean },
): WindowedStoreQuery<unknown, unknown> {
  const { spec } = store;
  const entry = (e: RoutedEntry): WindowedEntry<unknown, unknown> => ({
    key: decodeKey(store, e.k),
    start: e.start ?? 0,
    ...(e.end === undefined ? {} : { end: e.end }),
    value: decodeValue(store, e.v),
  });
  return {
    async fetch(key, timeFrom, timeTo) {
      const { bytes, taskId } = await locate(partitions, store, key);
      const r = await routed.point(
        spec.name,
        "fetch",
        { b64: bytes.toString("base64") },
        {
          ...stale,
          ...(timeFrom === undefined ? {} : { timeFrom }),
          ...(timeTo === undefined ? {} : { timeTo }),
        },
        taskId,
      );
      return r.entries.map(entry);
    },
    async all(options = {}) {
      return (await routed.scan(spec.name, "all", { ...options, ...stale })).entries.map(entry);
    },
  };
}

/** The key's bytes and the task that holds its partition. */
async function locate(
  partitions: PartitionCounts,
  store: RoutedStore,
  key: unknown,
): Promise<{ bytes: Buffer; taskId: string }> {
  const bytes = keyBytesOf(store.spec, { json: key });
  return { bytes, taskId: store.sub.taskId(await partitions.partitionOf(store.sub, bytes)) };
}

function b64(store: RoutedStore, key: unknown, what: string): { b64: string } {
  return { b64: keyBytesOf(store.spec, { json: key }, what).toString("base64") };
}

function decodeKey(store: RoutedStore, bytes: Buffer): unknown {
  return store.spec.keySerde.deserialize(bytes);
}

function decodeValue(store: RoutedStore, bytes: Buffer): unknown {
  try {
    return store.spec.valueSerde.deserialize(bytes);
  } catch (e) {
    throw new QueryError(
      "QUERY_FAILED",
      `a value of store '${store.spec.name}' does not decode with this app's value serde (is the running app another version of it?): ${(e as Error).message}`,
      { cause: e },
    );
  }
}
