import {
  type FetchedBatches,
  forEachKeyValue,
  type IsolationLevel,
  type LogClient,
  type LogRecord,
  type RecordBatch,
  type TopicPartition,
  TributaryError,
} from "@tributary/log";
import { StateStoreError } from "./errors.js";
import type { KeyValueChange, KeyValueEngine, RestoreBatch } from "./key-value-bytes-store.js";

/**
 * Called with 0 when restore begins, then after each applied chunk: changelog offsets
 * covered so far, out of the total.
 */
export type RestoreProgress = (done: number, total: number) => void;

export interface ChangelogBounds {
  /** First offset still in the changelog. */
  start: number;
  /** Offset the next record will get: restore stops here. */
  end: number;
}

export interface RestoreResult {
  /** First changelog offset replayed. */
  from: number;
  /** Offset restore stopped at (the end offset seen when it started). */
  to: number;
  /** Records applied (fewer than to - from where compaction left gaps). */
  records: number;
}

export interface RestoreOptions {
  client: LogClient;
  topic: string;
  partition: number;
  /** Where to start; default the engine's stored offset, or the log start without one. */
  from?: number;
  onProgress?: RestoreProgress;
  /** Max bytes per poll, so per engine write batch (default RESTORE_MAX_POLL_BYTES). */
  maxPollBytes?: number;
  /**
   * "read_committed" (exactly-once) replays committed transactions only: aborted records
   * are skipped, and restore waits at a transaction still open (a crashed writer's, until
   * its successor fences it or its timeout aborts it). Default "read_uncommitted".
   */
  isolation?: IsolationLevel;
}

/**
 * Restore's poll size: 4 MiB (the consumers' defaults are 1 MiB per partition) is
 * ~40,000 records of 100 bytes per fetch and per RocksDB write, so fewer round trips and
 * native writes per record, while a batch stays far below the 16 MiB memtable.
 */
export const RESTORE_MAX_POLL_BYTES = 4 * 1024 * 1024;

/** How many polls in a row may return nothing before restore gives up. */
const MAX_EMPTY_POLLS = 50;
/**
 * The same under read_committed: a transaction a crashed writer left open holds restore
 * back until it is aborted, which takes up to the writer's transaction timeout (10 s
 * under exactly-once), so this waits well past it (~100 ms per empty poll).
 */
const MAX_EMPTY_POLLS_READ_COMMITTED = 600;

export async function changelogBounds(
  client: LogClient,
  topic: string,
  partition: number,
): Promise<ChangelogBounds> {
  const [earliest, latest] = await Promise.all([
    client.admin.listOffsets(topic, "earliest"),
    client.admin.listOffsets(topic, "latest"),
  ]);
  const start = earliest.find((o) => o.partition === partition)?.offset;
  const end = latest.find((o) => o.partition === partition)?.offset;
  if (start === undefined || end === undefined) {
    throw new StateStoreError(
      "INVALID_ARGUMENT",
      `changelog ${topic} has no partition ${partition}: create it with at least ${partition + 1} partitions`,
    );
  }
  return { start, end };
}

/**
 * Replays a store's changelog into its engine (Kafka's StoreChangelogReader, without the
 * wipe). It reads from the offset the engine stored (or the log start when the engine
 * has none) up to the end offset seen at the start, with a consumer assigned by hand (no
 * group) through the LogClient interface only, so it runs on the embedded log, the
 * broker and Kafka alike. Each fetched chunk is applied as ONE engine write together with
 * the offset it reaches, so a crash during restore keeps what was restored.
 *
 * On a client with a batch reader (all three have one) the fetched batches are read
 * undecoded: keys and values go from the fetched bytes into the engine's batch without a
 * record object per record (the consumer path stays for other clients).
 *
 * Pipelined, as Kafka's consumer fetches ahead: the fetch of chunk n+1 is sent before
 * chunk n is copied into its batch, and chunk n's write runs (on RocksDB's threadpool)
 * while n+1 is awaited; writes still go one after the other, in offset order, so the
 * stored offset never runs ahead of the data below it.
 */
export async function restoreFromChangelog(
  engine: KeyValueEngine,
  options: RestoreOptions,
): Promise<RestoreResult> {
  const { client, topic, partition, onProgress } = options;
  const bounds = await changelogBounds(client, topic, partition);
  const from = options.from ?? engine.changelogOffset ?? bounds.start;
  const to = bounds.end;
  const total = Math.max(0, to - from);
  if (from >= to) {
    onProgress?.(total, total);
    return { from, to, records: 0 };
  }
  const source = chunkSource(options, from);
  let records = 0;
  /** The previous chunk's write, still running while the next chunk is fetched. */
  let writing: Promise<void> | null = null;
  /** The next chunk's fetch, sent before this chunk is copied and written. */
  let fetching: Promise<Chunk> | null = null;
  try {
    // Restore begins here: a rate measured from the first chunk's report would leave out
    // that chunk's fetch and write (~40,000 records at the default poll size).
    onProgress?.(0, total);
    let position = from;
    let emptyPolls = 0;
    while (position < to) {
      const chunk = await (fetching ?? source.fetch());
      fetching = null;
      const moved = chunk.next;
      if ((moved ?? position) < to) {
        fetching = source.fetch();
        // Its failure is rethrown where it is awaited; this keeps it from being reported
        // as unhandled meanwhile. The same for `writing` below.
        fetching.catch(() => {});
      }
      const batch = engine.restoreBatch?.() ?? new CollectingBatch(engine);
      const reached = chunk.copy(batch, position, to);
      // Offsets compaction removed count as covered once the source moved past them.
      const next = Math.min(to, Math.max(reached, moved ?? reached));
      if (next === position) {
        const limit =
          options.isolation === "read_committed" ? MAX_EMPTY_POLLS_READ_COMMITTED : MAX_EMPTY_POLLS;
        if (++emptyPolls >= limit) {
          throw new StateStoreError(
            "INTERNAL",
            `restore of ${engine.name} from ${topic}-${partition} made no progress at offset ${position} (target ${to}) after ${limit} polls: is the changelog reachable${options.isolation === "read_committed" ? ", or a transaction left open on it?" : "?"}`,
            { retriable: true },
          );
        }
        continue;
      }
      emptyPolls = 0;
      if (writing !== null) await writing;
      const applied = batch.size;
      const done = next - from;
      writing = batch.write(next).then(() => {
        records += applied;
        onProgress?.(done, total);
      });
      writing.catch(() => {});
      position = next;
    }
    if (writing !== null) await writing;
  } finally {
    // A failure leaves the last write (and maybe a fetch) running: the write must finish
    // before the caller may close the engine under it, the fetch before the source closes.
    if (writing !== null) await writing.catch(() => {});
    if (fetching !== null) await fetching.catch(() => {});
    await source.close();
  }
  return { from, to, records };
}

/** One fetched chunk of the changelog. */
interface Chunk {
  /** Where the source reads next (past records it skipped too); undefined if unknown. */
  next: number | undefined;
  /**
   * Copies the chunk's keyed records in [from, to) into `batch`, in offset order; returns
   * the offset after the last one copied, or `from` when none was.
   */
  copy(batch: RestoreBatch, from: number, to: number): number;
}

/** Fetches chunk after chunk, each from where the previous one ended. */
interface ChunkSource {
  fetch(): Promise<Chunk>;
  close(): Promise<void>;
}

/**
 * Batches read undecoded (LogClient.batchReader), keys and values copied into the engine's
 * batch straight from the fetched bytes, when the client has a batch reader; else records
 * polled from a consumer assigned by hand (no group).
 */
function chunkSource(options: RestoreOptions, from: number): ChunkSource {
  const { client, topic, partition } = options;
  const maxBytes = options.maxPollBytes ?? RESTORE_MAX_POLL_BYTES;
  const clientId = `${topic}-${partition}-restore`;
  const isolation = options.isolation === undefined ? {} : { isolation: options.isolation };
  if (client.batchReader !== undefined) {
    const reader = client.batchReader({ topic, partition, maxBytes, clientId, ...isolation });
    let position = from;
    return {
      fetch: async () => {
        let fetched: FetchedBatches;
        try {
          fetched = await reader.read(position, POLL_WAIT_MS);
        } catch (e) {
          // Retention deleted the records from here on: go on from the log start, as the
          // consumer does with its autoOffsetReset (earliest).
          if (!(e instanceof TributaryError) || e.code !== "OFFSET_OUT_OF_RANGE") throw e;
          const { start } = await changelogBounds(client, topic, partition);
          if (start <= position) throw e;
          position = start;
          return { next: start, copy: (_b, f) => f };
        }
        position = fetched.next;
        return { next: fetched.next, copy: (b, f, t) => copyBatches(fetched.batches, b, f, t) };
      },
      close: () => reader.close(),
    };
  }
  const consumer = client.consumer({
    clientId,
    ...isolation,
    // A stored offset retention has deleted since: go on from what is left, as above.
    autoOffsetReset: "earliest",
    maxPollBytes: maxBytes,
    // One partition is read: on Kafka the partition limit (1 MiB by default) binds first.
    maxPartitionFetchBytes: maxBytes,
  });
  const tp: TopicPartition = { topic, partition };
  try {
    consumer.assign([tp]);
    consumer.seek(tp, from);
  } catch (e) {
    void consumer.close().catch(() => {});
    throw e;
  }
  return {
    fetch: async () => {
      const fetched = await consumer.poll({ maxWaitMs: POLL_WAIT_MS });
      return {
        next: consumer.position(tp),
        copy: (batch, f, t) => {
          let reached = f;
          for (const p of fetched) {
            if (p.topic !== topic || p.partition !== partition) continue;
            reached = copyRecords(p.records, batch, f, t, reached);
          }
          return reached;
        },
      };
    },
    close: () => consumer.close(),
  };
}

/** How long one fetch long-polls for records not yet there. */
const POLL_WAIT_MS = 100;

function copyBatches(
  batches: FetchedBatches["batches"],
  batch: RestoreBatch,
  from: number,
  to: number,
): number {
  let reached = from;
  const add = (offset: number, key: Buffer | null, value: Buffer | null) => {
    if (offset < from || offset >= to || key === null) return;
    batch.add(key, value);
    reached = offset + 1;
  };
  for (const b of batches) {
    // Kafka's batch reader hands a compressed batch (another producer's, or a topic with
    // compression.type set) as the records its client decoded.
    if (Array.isArray(b)) reached = copyRecords(b, batch, from, to, reached);
    else forEachKeyValue(b as RecordBatch, add);
  }
  return reached;
}

function copyRecords(
  records: readonly LogRecord[],
  batch: RestoreBatch,
  from: number,
  to: number,
  reached: number,
): number {
  for (const r of records) {
    if (r.offset < from || r.offset >= to || r.key === null) continue;
    batch.add(r.key, r.value);
    reached = r.offset + 1;
  }
  return reached;
}

/** The restore batch of an engine without one of its own: the changes go to `write`. */
class CollectingBatch implements RestoreBatch {
  private readonly changes: KeyValueChange[] = [];

  constructor(private readonly engine: KeyValueEngine) {}

  get size(): number {
    return this.changes.length;
  }

  add(key: Buffer, value: Buffer | null): void {
    this.changes.push({ key, value });
  }

  write(changelogOffset: number): Promise<void> {
    return this.engine.write(this.changes, changelogOffset);
  }
}
