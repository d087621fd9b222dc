import type { WarnFields } from "./worker-options.js";
import path from "node:path";
import type {
  Consumer,
  IsolationLevel,
  LogClient,
  LogRecord,
  TopicPartition,
} from "@tributary/log";
import {
  type KeyValueChange,
  type KeyValueEngine,
  MemoryEngine,
  RocksDbEngine,
  StateStoreError,
  validateStateName,
} from "@tributary/state";
import type { GlobalStoreSpec } from "../topology/global-store-spec.js";
import { GlobalKeyValueStore } from "./global-key-value-store.js";

export interface GlobalStoreUpdaterOptions {
  applicationId: string;
  stateDir: string;
  log: LogClient;
  clientId: string;
  engine: "rocksdb" | "memory";
  /**
   * "read_committed" under exactly-once: a global table shows committed transactions only
   * (an aborted write to its topic never reaches a join), and bootstrap waits at a
   * transaction still open until it ends. Default "read_uncommitted".
   */
  isolation?: IsolationLevel;
  warn?: (message: string, fields?: WarnFields) => void;
  /** Bootstrap progress of a store: records read so far of the `total` its local copy
   * lacked, reported as a task store's restore is. */
  onBootstrapProgress?: (store: string, done: number, total: number) => void;
}

/** One partition of a global topic and the engine holding what was read of it. */
interface PartitionState {
  tp: TopicPartition;
  store: GlobalKeyValueStore<unknown, unknown>;
  engine: KeyValueEngine;
}

/** Most worker slots tried for the global stores' directory (see `open`). */
const MAX_SLOTS = 64;

/**
 * Keeps a worker's global stores (Kafka's GlobalStreamThread, driven by the worker's
 * loop instead of a thread of its own). Responsible for:
 * - local state: one engine per partition of each global topic, RocksDB under
 *   `<stateDir>/<applicationId>/global-<slot>/<store>.<partition>/`, holding the topic's
 *   bytes and, in the same atomic write, the next offset they cover. Workers sharing a
 *   state directory (`tributary run --workers N`) each take the first slot no other
 *   process holds locked, so a restarted worker finds its copy and reads only the tail;
 * - the in-memory view processors read (GlobalKeyValueStore), loaded from the engines;
 * - bootstrap: reading every partition, from where the engine stopped, to the end offsets
 *   captured when it starts — the worker does this before any task exists;
 * - updates while tasks run: `update()` applies what arrived since, in the worker's loop
 *   before each batch, so a record sees every table change read before its batch.
 * The topic is the changelog: nothing is written back. Its consumer has no group and
 * commits nothing. A record with a null key cannot be a table entry: skipped and counted.
 */
export class GlobalStoreUpdater {
  /** Records with a null key, skipped. */
  skippedNullKeys = 0;
  private readonly partitions = new Map<string, PartitionState>();

  private constructor(
    readonly stores: ReadonlyMap<string, GlobalKeyValueStore<unknown, unknown>>,
    private readonly consumer: Consumer,
    private readonly options: GlobalStoreUpdaterOptions,
  ) {}

  static async open(
    specs: readonly GlobalStoreSpec[],
    options: GlobalStoreUpdaterOptions,
  ): Promise<GlobalStoreUpdater> {
    const stores = new Map(
      specs.map((s) => [
        s.storeName,
        new GlobalKeyValueStore(s.storeName, s.keySerde, s.valueSerde),
      ]),
    );
    const consumer = options.log.consumer({
      clientId: `${options.clientId}-global`,
      autoOffsetReset: "earliest",
      ...(options.isolation === undefined ? {} : { isolation: options.isolation }),
    });
    const updater = new GlobalStoreUpdater(stores, consumer, options);
    try {
      await updater.openEngines(specs);
    } catch (e) {
      await updater.close();
      throw e;
    }
    return updater;
  }

  /** Reads every partition up to the end offsets it had when this was called. */
  async bootstrap(): Promise<void> {
    const ends = new Map<string, number>();
    for (const topic of new Set([...this.partitions.values()].map((p) => p.tp.topic))) {
      for (const o of await this.options.log.admin.listOffsets(topic, "latest")) {
        ends.set(key(o), o.offset);
      }
    }
    for (const [k, p] of this.partitions) {
      const end = ends.get(k) ?? 0;
      const at = p.engine.changelogOffset ?? 0;
      if (at > end) {
        // the topic was deleted and made again: the local copy describes another log
        this.options.warn?.(
          `global store '${p.store.name}' holds ${p.tp.topic}-${p.tp.partition} up to offset ${at}, past its end ${end} (the topic was recreated): reading it again from the start`,
          {
            event: "global-store-reread",
            store: p.store.name,
            topic: p.tp.topic,
            partition: p.tp.partition,
          },
        );
        await this.wipe(k, p);
      }
      this.consumer.seek(p.tp, p.engine.changelogOffset ?? 0);
    }
    const starts = new Map(
      [...this.partitions].map(([k, p]) => [k, p.engine.changelogOffset ?? 0]),
    );
    const progress = () => {
      const byStore = new Map<string, { done: number; total: number }>();
      for (const [k, p] of this.partitions) {
        const end = ends.get(k) ?? 0;
        const start = Math.min(starts.get(k) ?? 0, end);
        const at = Math.min(Math.max(this.consumer.position(p.tp) ?? start, start), end);
        const s = byStore.get(p.store.name) ?? { done: 0, total: 0 };
        s.done += at - start;
        s.total += end - start;
        byStore.set(p.store.name, s);
      }
      for (const [store, s] of byStore) this.options.onBootstrapProgress?.(store, s.done, s.total);
    };
    const behind = () =>
      [...this.partitions].some(
        ([k, p]) => (this.consumer.position(p.tp) ?? 0) < (ends.get(k) ?? 0),
      );
    while (behind()) {
      await this.update(100);
      progress();
    }
  }

  /** Applies what one poll brings (waiting up to `maxWaitMs`); returns the record count. */
  async update(maxWaitMs = 0): Promise<number> {
    let n = 0;
    for (const f of await this.consumer.poll({ maxWaitMs })) {
      const p = this.partitions.get(key(f));
      if (p === undefined || f.records.length === 0) continue;
      await this.apply(p, f.records);
      n += f.records.length;
    }
    return n;
  }

  async close(): Promise<void> {
    await this.consumer.close().catch(() => {});
    for (const p of this.partitions.values()) await p.engine.close().catch(() => {});
    this.partitions.clear();
  }

  private async apply(p: PartitionState, records: readonly LogRecord[]): Promise<void> {
    const changes: KeyValueChange[] = [];
    for (const r of records) {
      if (r.key === null || r.key.length === 0) {
        this.skippedNullKeys++;
        continue;
      }
      changes.push({ key: r.key, value: r.value });
    }
    const next = records[records.length - 1]!.offset + 1;
    // data and offset in one write: after a crash the engine is at a known offset
    await p.engine.write(changes, next);
    for (const c of changes) p.store.apply(c.key, c.value);
    if (this.skippedNullKeys > 0 && changes.length < records.length) {
      this.options.warn?.(
        `global store '${p.store.name}': skipped ${records.length - changes.length} records of ${p.tp.topic}-${p.tp.partition} with a null key (${this.skippedNullKeys} so far): a table entry needs a key`,
        {
          event: "null-keys-skipped",
          store: p.store.name,
          topic: p.tp.topic,
          partition: p.tp.partition,
          skipped: records.length - changes.length,
          skippedTotal: this.skippedNullKeys,
        },
      );
    }
  }

  private async openEngines(specs: readonly GlobalStoreSpec[]): Promise<void> {
    const { applicationId, stateDir } = this.options;
    validateStateName("application id", applicationId);
    const assignment: TopicPartition[] = [];
    const wanted: { spec: GlobalStoreSpec; tp: TopicPartition }[] = [];
    for (const spec of specs) {
      const offsets = await this.options.log.admin.listOffsets(spec.topic, "latest");
      for (const o of offsets) {
        const tp = { topic: spec.topic, partition: o.partition };
        wanted.push({ spec, tp });
        assignment.push(tp);
      }
    }
    for (let slot = 0; ; slot++) {
      const dir = path.join(path.resolve(stateDir), applicationId, `global-${slot}`);
      try {
        for (const { spec, tp } of wanted) {
          const name = `${spec.storeName}.${tp.partition}`;
          validateStateName("store name", name);
          const engine =
            this.options.engine === "memory"
              ? new MemoryEngine(name)
              : await RocksDbEngine.open(path.join(dir, name), name, {
                  ...(this.options.warn === undefined ? {} : { warn: this.options.warn }),
                });
          const store = this.stores.get(spec.storeName)!;
          this.partitions.set(key(tp), { tp, store, engine });
          for await (const e of engine.range()) store.apply(e.key, e.value);
        }
        break;
      } catch (e) {
        for (const p of this.partitions.values()) await p.engine.close().catch(() => {});
        this.partitions.clear();
        for (const s of this.stores.values()) s.clear();
        const locked = e instanceof StateStoreError && e.code === "STORE_LOCKED";
        if (!locked || slot + 1 >= MAX_SLOTS) throw e;
      }
    }
    this.consumer.assign(assignment);
  }

  private async wipe(k: string, p: PartitionState): Promise<void> {
    const changes: KeyValueChange[] = [];
    for await (const e of p.engine.range()) changes.push({ key: e.key, value: null });
    await p.engine.write(changes, 0);
    for (const c of changes) p.store.apply(c.key, null);
    this.partitions.set(k, p);
  }
}

function key(tp: { topic: string; partition: number }): string {
  return `${tp.topic}\0${tp.partition}`;
}
