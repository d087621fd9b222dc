import type { IsolationLevel, LogClient, Producer, TopicConfig } from "@tributary/log";
import type { CommitBarrier } from "./commit-barrier.js";
import {
  changelogBounds,
  type RestoreProgress,
  type RestoreResult,
  restoreFromChangelog,
} from "./changelog-restorer.js";
import type { KeyValueEngine } from "./key-value-bytes-store.js";
import type { KeyValueStore, StoreSerde } from "./key-value-store.js";
import { KeyValueStoreBuilder } from "./key-value-store-builder.js";
import { MemoryEngine } from "./memory/memory-engine.js";
import { RocksDbEngine, type RocksDbEngineOptions } from "./rocksdb/rocksdb-engine.js";
import { changelogTopicName, storeDirectory, validateStateName } from "./store-names.js";

export interface ChangelogOptions {
  client: LogClient;
  /** The task's partition: the changelog partition this store writes and restores. */
  partition: number;
  /**
   * Creates the changelog topic (compacted) with this many partitions when it is missing.
   * Without it the topic must exist.
   */
  createWithPartitions?: number;
  /** The config `createWithPartitions` creates the topic with. Default: compacted. */
  topicConfig?: Partial<TopicConfig>;
  /** Producer to append with (shared by a task's stores); one is made when absent. */
  producer?: Producer;
  /**
   * Exactly-once: `producer` sends inside a transaction and each commit's engine batch
   * waits here for it to commit (see CommitBarrier). Give `isolation: "read_committed"`
   * with it.
   */
  barrier?: CommitBarrier;
  /** How restore reads the changelog. Default "read_uncommitted". */
  isolation?: IsolationLevel;
}

export interface KeyValueStoreOptions<K, V> {
  applicationId: string;
  taskId: string;
  name: string;
  keySerde: StoreSerde<K>;
  valueSerde: StoreSerde<V | null>;
  /** Default "rocksdb". */
  engine?: "rocksdb" | "memory";
  /** Root of local state; required for RocksDB. */
  stateDir?: string;
  /** Write-back cache size in bytes; 0 turns the cache off. Default 10 MiB. */
  cacheBytes?: number;
  /** Pending bytes (flushed, not committed) at which `commitNeeded()` turns true. Default 32 MiB. */
  commitThresholdBytes?: number;
  /** Change-logging and restore; absent: a local-only store. */
  changelog?: ChangelogOptions;
  onRestoreProgress?: RestoreProgress;
  /** Warnings (a corrupt store moved aside, stale state dropped). Default process.emitWarning. */
  warn?: (message: string) => void;
  rocksdb?: Omit<RocksDbEngineOptions, "warn">;
}

/**
 * Opens a key-value store ready for processing: engine opened (a corrupt one moved aside
 * and recreated), the changelog tail restored, and the layers wrapped in Kafka's order by
 * KeyValueStoreBuilder: metered(caching(change-logging(engine))).
 *
 * Restore replays only the changelog tail after the offset the engine stored. It starts
 * from the beginning when there is no local state (memory engine, new machine, deleted
 * directory) and, with a warning, also when the stored offset lies outside the changelog
 * (the topic was deleted and recreated, e.g. by `tributary reset`): that local state
 * belongs to another history and is deleted.
 */
export async function openKeyValueStore<K, V>(
  options: KeyValueStoreOptions<K, V>,
): Promise<KeyValueStore<K, V>> {
  const { applicationId, taskId, name, changelog } = options;
  const warn = options.warn ?? ((m: string) => process.emitWarning(m, "TributaryStateWarning"));
  validateStateName("application id", applicationId);
  validateStateName("task id", taskId);
  validateStateName("store name", name);
  const topic = changelog === undefined ? null : changelogTopicName(applicationId, name);

  let dir: string | null = null;
  const openEngine = async (): Promise<KeyValueEngine> => {
    if (options.engine === "memory") return new MemoryEngine(name);
    if (options.stateDir === undefined) {
      throw new TypeError(`store '${name}': a RocksDB store needs options.stateDir`);
    }
    dir = storeDirectory(options.stateDir, applicationId, taskId, name);
    return RocksDbEngine.open(dir, name, { ...options.rocksdb, warn });
  };

  let engine = await openEngine();
  let restored: RestoreResult | null = null;
  let ownProducer: Producer | null = null;
  try {
    if (changelog !== undefined && topic !== null) {
      if (changelog.createWithPartitions !== undefined) {
        await changelog.client.admin.createTopic(topic, {
          partitions: changelog.createWithPartitions,
          config: changelog.topicConfig ?? { cleanupPolicy: "compact" },
          ifNotExists: true,
        });
      }
      const bounds = await changelogBounds(changelog.client, topic, changelog.partition);
      const stored = engine.changelogOffset;
      if (stored !== null && (stored > bounds.end || stored < bounds.start) && dir !== null) {
        warn(
          `store '${name}': local state is at changelog offset ${stored} but ${topic}-${changelog.partition} holds ${bounds.start}..${bounds.end} (the topic was recreated or truncated); deleting it and restoring from the start`,
        );
        await engine.close();
        RocksDbEngine.destroy(dir);
        engine = await openEngine();
      }
      restored = await restoreFromChangelog(engine, {
        client: changelog.client,
        topic,
        partition: changelog.partition,
        ...(changelog.isolation === undefined ? {} : { isolation: changelog.isolation }),
        ...(options.onRestoreProgress === undefined
          ? {}
          : { onProgress: options.onRestoreProgress }),
      });
    }
  } catch (e) {
    await engine.close().catch(() => {});
    throw e;
  }

  let producer: Producer | undefined = changelog?.producer;
  if (changelog !== undefined && producer === undefined) {
    producer = changelog.client.producer({ clientId: `${applicationId}-${taskId}-${name}` });
    ownProducer = producer;
  }
  const closeProducer = ownProducer;
  return new KeyValueStoreBuilder(engine, options.keySerde, options.valueSerde)
    .withCachingEnabled(options.cacheBytes)
    .withLoggingEnabled(
      changelog === undefined || topic === null || producer === undefined
        ? null
        : {
            producer,
            topic,
            partition: changelog.partition,
            ...(changelog.barrier === undefined ? {} : { barrier: changelog.barrier }),
          },
    )
    .withCommitThresholdBytes(options.commitThresholdBytes)
    .build({
      restored,
      onClose: closeProducer === null ? undefined : () => closeProducer.close(),
    });
}
