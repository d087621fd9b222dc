import {
  type CommittedOffset,
  type Consumer,
  type FetchedPartition,
  type TopicPartition,
  topicPartitionKey,
} from "@tributary/log";
import type { App } from "../dsl/define-app.js";
import { StreamsArgumentError } from "../errors.js";
import type { SubTopology, Topology } from "../topology/topology.js";
import { BatchPrefetcher } from "./batch-prefetcher.js";
import type { ProducingRecordCollector } from "./producing-record-collector.js";
import { openTaskStores, type RuntimeStore, type StoreFactoryOptions } from "./store-factory.js";
import { StreamTask } from "./stream-task.js";

/** A task as the worker runs it: the StreamTask plus what the runtime keeps beside it. */
interface RunningTask {
  readonly id: string;
  readonly task: StreamTask;
  readonly stores: RuntimeStore[];
  readonly prefetcher: BatchPrefetcher;
  /** Source partitions seen since the last commit: their positions are committed next. */
  readonly progressed: Map<string, TopicPartition>;
}

export interface TaskManagerOptions {
  app: App;
  topology: Topology;
  collector: ProducingRecordCollector;
  stores: StoreFactoryOptions;
  consumer: () => Consumer;
}

/**
 * Owns a worker's tasks (Kafka's TaskManager), one per sub-topology and partition:
 * - on assignment, creates the tasks of the assigned partitions — stores opened and
 *   restored from their changelogs first — and resumes suspended ones handed back;
 * - on revocation, commits and suspends: rebalances are eager and sticky, so most tasks
 *   come straight back and keep their open stores and caches; those that do not are
 *   closed when the new assignment arrives;
 * - on loss (the session expired: another worker may own them already), closes without
 *   committing;
 * - runs each fetched batch: prefetch the keys it reads, then process it synchronously;
 * - commits, in the order of DESIGN "Commit" (see `commit`).
 */
export class TaskManager {
  private readonly tasks = new Map<string, RunningTask>();
  private readonly suspended = new Map<string, RunningTask>();
  /** topic-partition -> the task reading it */
  private readonly byPartition = new Map<string, RunningTask>();
  /** Records processed, for metrics. */
  processed = 0;
  commits = 0;

  constructor(private readonly options: TaskManagerOptions) {}

  taskIds(): string[] {
    return [...this.tasks.keys()].sort();
  }

  deadLettered(): number {
    let n = 0;
    for (const t of this.tasks.values()) n += t.task.deadLettered;
    return n;
  }

  async onAssigned(partitions: readonly TopicPartition[]): Promise<void> {
    const wanted = new Map<string, { sub: SubTopology; partition: number }>();
    for (const tp of partitions) {
      const sub = this.options.topology.subtopologyReading(tp.topic);
      if (sub === undefined) {
        throw new StreamsArgumentError(
          `assigned ${tp.topic}-${tp.partition}, which no sub-topology reads: another app uses the group '${this.options.app.applicationId}'?`,
        );
      }
      wanted.set(sub.taskId(tp.partition), { sub, partition: tp.partition });
    }
    // Stores of tasks that moved away are closed before any store is opened, so a task
    // coming here from this same state directory never waits on our own lock.
    for (const [id, t] of this.suspended) {
      if (!wanted.has(id)) await this.close(t);
    }
    for (const [id, { sub, partition }] of wanted) {
      let t = this.suspended.get(id) ?? this.tasks.get(id);
      this.suspended.delete(id);
      t ??= await this.create(sub, partition);
      this.tasks.set(id, t);
    }
    this.byPartition.clear();
    for (const tp of partitions) {
      const sub = this.options.topology.subtopologyReading(tp.topic)!;
      this.byPartition.set(
        topicPartitionKey(tp.topic, tp.partition),
        this.tasks.get(sub.taskId(tp.partition))!,
      );
    }
  }

  /** Commits everything, then suspends the tasks of these partitions. */
  async onRevoked(partitions: readonly TopicPartition[]): Promise<void> {
    await this.commit();
    for (const tp of partitions) {
      const t = this.byPartition.get(topicPartitionKey(tp.topic, tp.partition));
      if (t === undefined) continue;
      this.byPartition.delete(topicPartitionKey(tp.topic, tp.partition));
      this.tasks.delete(t.id);
      this.suspended.set(t.id, t);
    }
  }

  /** Closes the tasks of these partitions without committing: they are someone else's. */
  async onLost(partitions: readonly TopicPartition[]): Promise<void> {
    const lost = new Set<RunningTask>();
    for (const tp of partitions) {
      const t = this.byPartition.get(topicPartitionKey(tp.topic, tp.partition));
      if (t !== undefined) lost.add(t);
      this.byPartition.delete(topicPartitionKey(tp.topic, tp.partition));
    }
    for (const t of lost) {
      this.tasks.delete(t.id);
      await this.close(t);
    }
  }

  /**
   * Runs what one poll fetched: the prefetches of all batches go out together (one
   * getMany per store, the tasks' stores are distinct), then each batch is processed
   * synchronously. Batches of one task (a task reading several topics) go one after
   * another, since a prefetch serves until the next one. Throws what a task throws (a
   * ProcessingError under errorHandling "fail", a PrefetchMissError): the worker stops.
   */
  async processAll(fetched: readonly FetchedPartition[]): Promise<void> {
    const seen = new Set<RunningTask>();
    const parallel: { t: RunningTask; f: FetchedPartition }[] = [];
    const later: FetchedPartition[] = [];
    for (const f of fetched) {
      const t = this.byPartition.get(topicPartitionKey(f.topic, f.partition));
      if (t === undefined || f.records.length === 0) continue;
      if (seen.has(t)) later.push(f);
      else {
        seen.add(t);
        parallel.push({ t, f });
      }
    }
    await Promise.all(
      parallel.map(({ t, f }) =>
        t.prefetcher.active ? t.prefetcher.prefetch(f.topic, f.records) : undefined,
      ),
    );
    for (const { t, f } of parallel) this.run(t, f);
    for (const f of later) await this.process(f);
  }

  /** Runs one fetched batch: prefetch the keys it reads, then process it. */
  async process(fetched: FetchedPartition): Promise<void> {
    const t = this.byPartition.get(topicPartitionKey(fetched.topic, fetched.partition));
    if (t === undefined || fetched.records.length === 0) return;
    if (t.prefetcher.active) await t.prefetcher.prefetch(fetched.topic, fetched.records);
    this.run(t, fetched);
  }

  private run(t: RunningTask, fetched: FetchedPartition): void {
    t.task.processBatch(fetched.topic, fetched.partition, fetched.records);
    this.processed += fetched.records.length;
    const key = topicPartitionKey(fetched.topic, fetched.partition);
    if (!t.progressed.has(key)) {
      t.progressed.set(key, { topic: fetched.topic, partition: fetched.partition });
    }
  }

  /** Fires due wall-clock punctuations in every task. */
  punctuate(now: number): void {
    for (const t of this.tasks.values()) t.task.advanceWallClock(now);
  }

  /** True when a store has buffered enough that waiting for the interval costs memory. */
  commitNeeded(): boolean {
    for (const t of this.tasks.values()) {
      for (const s of t.stores) if (s.commitNeeded()) return true;
    }
    return false;
  }

  /**
   * The commit (DESIGN "Commit"; Kafka's TaskManager.commit at-least-once):
   *   1. flush every store's write-back cache into its change-logging layer;
   *   2. flush the collector: output, repartition and dead-letter records acknowledged;
   *   3. each store appends its changes to its changelog, awaits the acknowledgement,
   *      then writes ONE RocksDB batch holding the data and the changelog offset;
   *   4. commit the input positions of the partitions processed, fenced by generation.
   * A crash between any two steps leaves input offsets behind what stores and outputs
   * hold, so the records after them are processed again: at-least-once, never a loss.
   * Exactly-once fits the same order: 2 and 3's appends and 4's offsets become one
   * transaction (Kafka's sendOffsetsToTransaction); the RocksDB write of 3 then happens
   * after the transaction commits, still with the offset its data covers.
   */
  async commit(): Promise<number> {
    const tasks = [...this.tasks.values()];
    for (const t of tasks) for (const s of t.stores) s.flush();
    await this.options.collector.flush();
    await Promise.all(tasks.flatMap((t) => t.stores.map((s) => s.commit())));
    const consumer = this.options.consumer();
    const offsets: CommittedOffset[] = [];
    for (const t of tasks) {
      const metadata = encodeStreamTime(t.task.streamTime());
      for (const tp of t.progressed.values()) {
        const offset = consumer.position(tp);
        if (offset !== undefined) {
          offsets.push({
            topic: tp.topic,
            partition: tp.partition,
            offset,
            ...(metadata === undefined ? {} : { metadata }),
          });
        }
      }
    }
    if (offsets.length > 0) await consumer.commit(offsets);
    for (const t of tasks) t.progressed.clear();
    this.commits++;
    return offsets.length;
  }

  /** Closes every task, suspended ones too, without committing. */
  async closeAll(): Promise<void> {
    const all = [...this.tasks.values(), ...this.suspended.values()];
    this.tasks.clear();
    this.suspended.clear();
    this.byPartition.clear();
    const errors: unknown[] = [];
    for (const t of all) await this.close(t).catch((e) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  }

  private async create(sub: SubTopology, partition: number): Promise<RunningTask> {
    const id = sub.taskId(partition);
    const opened = await openTaskStores(sub.stores, id, partition, this.options.stores);
    const { app, collector } = this.options;
    let task: StreamTask;
    try {
      const streamTime = await this.committedStreamTime(sub, partition);
      task = new StreamTask({
        streamTime,
        applicationId: app.applicationId,
        subtopology: sub,
        partition,
        collector,
        openStore: (spec) => opened.get(spec.name)!,
        errorHandling: app.config.errorHandling,
        deadLetterTopic: app.config.deadLetterTopic,
        recordCacheBytes: this.options.stores.recordCacheBytes ?? 0,
      });
    } catch (e) {
      for (const s of opened.values()) s.close();
      await Promise.all([...opened.values()].map((s) => s.closed().catch(() => {})));
      throw e;
    }
    const stores = sub.stores.map((spec) => opened.get(spec.name)!);
    return {
      id,
      task,
      stores,
      prefetcher: new BatchPrefetcher(sub, stores),
      progressed: new Map(),
    };
  }

  /**
   * The stream time committed with the task's input offsets (the largest of its
   * partitions'), or -1. Only tasks that keep state care: windows and joins decide what is
   * late by it, so a restarted task must not start over from -1 and let through records
   * an uninterrupted run drops (Kafka commits partition time the same way).
   */
  private async committedStreamTime(sub: SubTopology, partition: number): Promise<number> {
    if (sub.stores.length === 0) return -1;
    const tps = sub.sourceTopics.map((topic) => ({ topic, partition }));
    let time = -1;
    for (const c of await this.options.consumer().committed(tps)) {
      time = Math.max(time, decodeStreamTime(c.metadata));
    }
    return time;
  }

  private async close(t: RunningTask): Promise<void> {
    t.task.close();
    await Promise.all(t.stores.map((s) => s.closed()));
  }
}

/*
 * Offset commit metadata of a task's input partitions (the task's stream time then):
 *   Metadata => "st=" streamTime:decimal ms
 * Anything else (another tool's metadata, none) reads as "not known": -1.
 */
function encodeStreamTime(time: number): string | undefined {
  return time < 0 ? undefined : `st=${time}`;
}

function decodeStreamTime(metadata: string | undefined): number {
  if (metadata === undefined || !metadata.startsWith("st=")) return -1;
  const t = Number(metadata.slice(3));
  return Number.isSafeInteger(t) && t >= 0 ? t : -1;
}
