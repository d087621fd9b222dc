import type { LogRecord } from "@tributary/log";
import { PersistentKeyValueStore } from "@tributary/state";
import type { Serde } from "../serdes.js";
import type { StoreSpec } from "../topology/node-spec.js";
import type { SubTopology } from "../topology/topology.js";
import type { RuntimeStore } from "./store-factory.js";

type KeyMapper = ((key: Buffer) => Buffer | null) | null;

/** Serdes whose bytes survive deserialize/serialize unchanged: their keys are used as is. */
const BYTE_STABLE = new Set(["UTF-8 string", "bytes"]);

/**
 * Which keys a task reads, batch by batch (DESIGN "Hot path"): before a batch runs, every
 * store of the task is prefetched with the keys of the batch's records, mapped from the
 * source's key encoding to the store's. That is what every stateful operation of the DSL
 * reads — an aggregation reads the record's key after its repartition, a table its
 * source key, a stream-table join the stream record's key — so one getMany per store per
 * batch serves the whole batch synchronously.
 *
 * The mapping is free when source and store share a byte-stable serde (the same bytes);
 * otherwise the key is decoded with the source serde and encoded with the store's. A key
 * that does not decode is skipped: its record fails at the source and goes to the
 * dead-letter topic, it never reaches a store. A processor that reads any other key
 * gets a PrefetchMissError naming the store, instead of a silent stall.
 *
 * Keys waiting in a store's record cache are forwarded when it flushes — possibly at
 * commit, after later batches — and processors downstream may then read them in the
 * task's other stores: every prefetch of those stores includes them too.
 */
export class BatchPrefetcher {
  /** source topic -> one mapper per store (null: keys as they are) */
  private readonly mappers = new Map<string, KeyMapper[]>();
  /** Stores with a record cache, when the task has other stores to keep readable. */
  private readonly cached: PersistentKeyValueStore<unknown, unknown>[];
  private readonly specs: readonly StoreSpec[];

  constructor(
    sub: SubTopology,
    private readonly stores: readonly RuntimeStore[],
  ) {
    this.specs = sub.stores;
    this.cached =
      stores.length < 2
        ? []
        : (stores.filter(
            (s) => s instanceof PersistentKeyValueStore && s.recordCacheBytes > 0,
          ) as PersistentKeyValueStore<unknown, unknown>[]);
    for (const [topic, source] of sub.sources) {
      this.mappers.set(
        topic,
        sub.stores.map((spec) => keyMapper(source.keySerde, spec.keySerde)),
      );
    }
  }

  get active(): boolean {
    return this.stores.length > 0;
  }

  async prefetch(topic: string, records: readonly LogRecord[]): Promise<void> {
    const mappers = this.mappers.get(topic);
    if (mappers === undefined || this.stores.length === 0) return;
    let raw: Buffer[] | null = null;
    const work: Promise<void>[] = [];
    for (let s = 0; s < this.stores.length; s++) {
      const map = mappers[s] ?? null;
      let keys: Buffer[];
      if (map === null) {
        raw ??= rawKeys(records);
        keys = raw;
      } else {
        keys = [];
        for (let i = 0; i < records.length; i++) {
          const k = records[i]!.key;
          if (k === null) continue;
          const m = map(k);
          if (m !== null && m.length > 0) keys.push(m);
        }
      }
      if (this.cached.length > 0) keys = this.withPending(s, keys);
      work.push(this.stores[s]!.prefetchBytes(keys));
    }
    await Promise.all(work);
  }

  /**
   * Prefetches for a batch holding records of several source topics (a task reading
   * several inputs, records picked in time order across them): one prefetch per store
   * with the keys of every run, since a prefetch serves reads until the next one.
   */
  async prefetchRuns(
    runs: readonly { topic: string; records: readonly LogRecord[] }[],
  ): Promise<void> {
    if (runs.length === 1) return this.prefetch(runs[0]!.topic, runs[0]!.records);
    if (this.stores.length === 0) return;
    const work: Promise<void>[] = [];
    for (let s = 0; s < this.stores.length; s++) {
      let keys: Buffer[] = [];
      for (const run of runs) {
        const mappers = this.mappers.get(run.topic);
        if (mappers === undefined) continue;
        const map = mappers[s] ?? null;
        for (let i = 0; i < run.records.length; i++) {
          const k = run.records[i]!.key;
          if (k === null) continue;
          const m = map === null ? k : map(k);
          if (m !== null && m.length > 0) keys.push(m);
        }
      }
      if (this.cached.length > 0) keys = this.withPending(s, keys);
      work.push(this.stores[s]!.prefetchBytes(keys));
    }
    await Promise.all(work);
  }

  private withPending(s: number, keys: Buffer[]): Buffer[] {
    const store = this.stores[s];
    const serde = this.specs[s]!.keySerde;
    let out = keys;
    for (const c of this.cached) {
      if (c === store) continue;
      const pending = c.pendingKeys();
      if (pending === null) continue;
      if (out === keys) out = keys.slice();
      for (const k of pending) {
        try {
          const b = serde.serialize(k);
          if (b !== null && b.length > 0) out.push(b);
        } catch {
          // a key of another type cannot be read in this store
        }
      }
    }
    return out;
  }
}

function rawKeys(records: readonly LogRecord[]): Buffer[] {
  const keys: Buffer[] = [];
  for (let i = 0; i < records.length; i++) {
    const k = records[i]!.key;
    if (k !== null && k.length > 0) keys.push(k);
  }
  return keys;
}

function keyMapper(source: Serde<unknown>, store: Serde<unknown>): KeyMapper {
  if (source === store && source.name !== undefined && BYTE_STABLE.has(source.name)) return null;
  return (key) => {
    try {
      const typed = source.deserialize(key);
      return typed === null || typed === undefined ? null : store.serialize(typed);
    } catch {
      return null;
    }
  };
}
