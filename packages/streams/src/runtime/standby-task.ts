import type { FetchedPartition, LogClient, TopicPartition } from "@tributary/log";
import {
  changelogBounds,
  type KeyValueBytesStore,
  KeyValueStoreBuilder,
  RocksDbEngine,
  SegmentExpiry,
  storeDirectory,
} from "@tributary/state";
import type { SubTopology } from "../topology/topology.js";
import type { StoreSpec } from "../topology/node-spec.js";

/** One logged store of a standby task: its RocksDB engine and the changelog partition. */
export interface StandbyStore {
  readonly spec: StoreSpec;
  readonly engine: RocksDbEngine;
  readonly changelog: TopicPartition;
  /** Changelog records behind the log end at the last fetch (or at open). */
  lag: number;
  /**
   * Window and session stores: their segments expire here as on the active task, since
   * their changelog brings no tombstones (SegmentedBytesStore); null for key-value stores.
   */
  readonly expiry: SegmentExpiry | null;
}

export interface StandbyTaskOptions {
  applicationId: string;
  stateDir: string;
  log: LogClient;
  warn: (message: string) => void;
}

const raw = {
  serialize: (b: Buffer | null) => b,
  deserialize: (b: Buffer) => b,
};

/**
 * A standby task (Kafka Streams' StandbyTask): a warm copy of one stateful task's logged
 * stores on a worker that does not run it. It opens each store's RocksDB directory, the
 * same one the active task would use here, and applies the store's changelog partition
 * as it grows, each fetched chunk as ONE engine write with the changelog offset it
 * reaches (the checkpoint an active store keeps too). It processes nothing and writes no
 * output. When the task becomes active here, the standby closes and the active store
 * opens the same directory and restores only the changelog tail past that checkpoint.
 */
export class StandbyTask {
  private constructor(
    readonly id: string,
    readonly partition: number,
    readonly stores: ReadonlyMap<string, StandbyStore>,
  ) {}

  /** Opens the task's logged stores (state outside the changelog's bounds is dropped). */
  static async open(
    sub: SubTopology,
    partition: number,
    options: StandbyTaskOptions,
  ): Promise<StandbyTask> {
    const taskId = sub.taskId(partition);
    const stores = new Map<string, StandbyStore>();
    try {
      for (const spec of sub.stores) {
        if (spec.changelogTopic === null) continue;
        const dir = storeDirectory(options.stateDir, options.applicationId, taskId, spec.name);
        const changelog = { topic: spec.changelogTopic, partition };
        let engine = await RocksDbEngine.open(dir, spec.name, { warn: options.warn });
        const bounds = await changelogBounds(options.log, changelog.topic, partition).catch(
          async (e: unknown) => {
            await engine.close();
            throw e;
          },
        );
        const stored = engine.changelogOffset;
        if (stored !== null && (stored > bounds.end || stored < bounds.start)) {
          options.warn(
            `standby of store '${spec.name}' (task ${taskId}): local state is at changelog offset ${stored} but ${changelog.topic}-${partition} holds ${bounds.start}..${bounds.end}; deleting it and reading from the start`,
          );
          await engine.close();
          RocksDbEngine.destroy(dir);
          engine = await RocksDbEngine.open(dir, spec.name, { warn: options.warn });
        }
        const from = engine.changelogOffset ?? bounds.start;
        const expiry =
          spec.type === "key-value" || spec.retentionMs === undefined
            ? null
            : new SegmentExpiry(spec.retentionMs);
        stores.set(spec.name, {
          spec,
          engine,
          changelog,
          lag: Math.max(0, bounds.end - from),
          expiry,
        });
      }
    } catch (e) {
      await Promise.all([...stores.values()].map((s) => s.engine.close().catch(() => {})));
      throw e;
    }
    return new StandbyTask(taskId, partition, stores);
  }

  /** Where each store's changelog is read from next: its checkpoint, else the log start. */
  async positions(log: LogClient): Promise<{ tp: TopicPartition; offset: number }[]> {
    const out: { tp: TopicPartition; offset: number }[] = [];
    for (const s of this.stores.values()) {
      const offset =
        s.engine.changelogOffset ??
        (await changelogBounds(log, s.changelog.topic, s.changelog.partition)).start;
      out.push({ tp: s.changelog, offset });
    }
    return out;
  }

  /**
   * Applies what one poll fetched of `store`'s changelog: one engine write of the records
   * and `next`, the consumer's position after them (past compacted gaps and, under
   * read_committed, past aborted records and transaction markers).
   */
  async apply(store: StandbyStore, fetched: FetchedPartition, next: number): Promise<number> {
    const changes: { key: Buffer; value: Buffer | null }[] = [];
    for (const r of fetched.records)
      if (r.key !== null) changes.push({ key: r.key, value: r.value });
    store.lag = Math.max(0, fetched.highWatermark - next);
    if (changes.length === 0 && next === store.engine.changelogOffset) return 0;
    await store.engine.write(changes, next);
    if (store.expiry !== null) {
      for (const c of changes) store.expiry.observe(c.key);
      const expired = store.expiry.rangeBehindObserved();
      // after the write: the chunk may hold entries of the segments it expires
      if (expired !== undefined) await store.engine.dropRange(expired);
    }
    return changes.length;
  }

  /** Changelog records the task's stores are behind, summed. */
  lag(): number {
    let n = 0;
    for (const s of this.stores.values()) n += s.lag;
    return n;
  }

  /** The byte view queries read a store through (no cache, no logging: read-only use). */
  bytesOf(store: string): KeyValueBytesStore | undefined {
    const s = this.stores.get(store);
    if (s === undefined) return undefined;
    return new KeyValueStoreBuilder(s.engine, raw, raw).withCachingDisabled().buildBytes();
  }

  async close(): Promise<void> {
    await Promise.all([...this.stores.values()].map((s) => s.engine.close().catch(() => {})));
  }
}
