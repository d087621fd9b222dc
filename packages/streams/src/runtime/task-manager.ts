import {
  type CommittedOffset,
  type Consumer,
  type FetchedPartition,
  type LogRecord,
  type PartitionOffset,
  type TopicPartition,
  topicPartitionKey,
} from "@tributary/log";
import type { App } from "../topology/app.js";
import { StreamsArgumentError } from "../errors.js";
import type { SubTopology, Topology } from "../topology/topology.js";
import { BatchPrefetcher } from "./batch-prefetcher.js";
import type { EventTime } from "./event-time.js";
import {
  type CommittedTime,
  committedTaskTime,
  encodeStreamTime,
  eventTimeFor,
  watermarkPublisherFor,
} from "./task-time.js";
import type { TopicLayout } from "./internal-topics.js";
import { extractedTime, PartitionGroup, type SourceRun } from "./partition-group.js";
import type { ProducingRecordCollector } from "./producing-record-collector.js";
import { openTaskStores, type RuntimeStore, type StoreFactoryOptions } from "./store-factory.js";
import { addTaskDrops, type DropCounts, noDrops } from "./drop-counts.js";
import type { StateStore } from "@tributary/state";
import { StreamTask } from "./stream-task.js";
import type { WatermarkPublisher } from "./watermark-publisher.js";
import { addTaskMetrics, noTaskMetrics } from "./task-metrics.js";
import { AtLeastOnceCommitter, type TaskCommitter } from "./task-committer.js";
import type { TaskMetrics, TaskRestoredEvent } from "./worker.js";

/** A task as the worker runs it: the StreamTask plus what the runtime keeps beside it. */
interface RunningTask {
  readonly id: string;
  readonly task: StreamTask;
  readonly stores: RuntimeStore[];
  readonly prefetcher: BatchPrefetcher;
  /** Source partitions seen since the last commit: their positions are committed next. */
  readonly progressed: Map<string, TopicPartition>;
  /** Its input partitions' queues when it reads several (null: one, batches run as
   * fetched). */
  readonly group: PartitionGroup | null;
  /** Publishes its watermark to the internal topics it writes (null: it writes none). */
  readonly watermarks: WatermarkPublisher | null;
  /** Wall clock of its last processed record, for idleness. */
  lastRecordAt: number;
  /** Input records it processed (for per-task metrics). */
  processed: number;
}

/** Most records a task with several inputs processes per prefetch (about what one fetch
 * of a single-input task brings: fewer, larger prefetches; a window store prefetch scans
 * whole segments, so their number counts). */
const MAX_GROUP_BATCH = 16_384;
/** Buffered bytes per input partition of such a task above which the partition is paused
 * (about eight full partition fetches: bounds memory while one input waits for another). */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** How far (ms of record time) the worker-wide scheduler lets one task run past the next
 * oldest task's head: tasks over the same moments run in slices, not record by record. */
export const TASK_ORDER_SLACK_MS = 1_000;
/** Least time between two end-offset lookups of a partition whose lag is not known. */
const END_LOOKUP_INTERVAL_MS = 200;
/**
 * Longest the task loop runs before it yields to the event loop, so heartbeats, fetches
 * and acks keep flowing during a big batch (a yield costs a few µs: nothing at this size).
 */
const SLICE_MS = 20;

export interface TaskManagerOptions {
  app: App;
  topology: Topology;
  collector: ProducingRecordCollector;
  stores: StoreFactoryOptions;
  consumer: () => Consumer;
  /** Kafka's max.task.idle.ms (see PartitionGroupOptions). Default 0. */
  maxTaskIdleMs?: number;
  /** End offsets of a topic's partitions, for an input whose lag no fetch told yet. */
  endOffsets?: (topic: string) => Promise<PartitionOffset[]>;
  /**
   * Partition counts and tasks per sub-topology as `ensureTopics` resolved them: the
   * writers a task reading an internal topic expects. Without it (no internal topics
   * made by this worker) tasks keep stream time as the largest time seen.
   */
  layout?: TopicLayout;
  /** A source partition with no record for this long, caught up, is idle (default 10 s). */
  idleTimeoutMs?: number;
  /** The worker's global stores, handed to every task. */
  globalStores?: ReadonlyMap<string, StateStore>;
  /**
   * Lowest time first across the worker's single-input tasks (WorkerOptions
   * orderTasksByTime): their fetched records wait in one PartitionGroup over all of their
   * partitions, and the task whose next record has the smallest time goes next.
   */
  orderTasksByTime?: boolean;
  /** A task's stores are open and restored (see WorkerOptions.onTaskRestored). */
  onTaskRestored?: (event: TaskRestoredEvent) => void;
  /** A task's stores opened (restored) or about to close (null): interactive queries. */
  onTaskStores?: (
    taskId: string,
    partition: number,
    stores: ReadonlyMap<string, RuntimeStore> | null,
  ) => void;
  /** How a commit makes outputs, stores and offsets durable. Default at-least-once. */
  committer?: TaskCommitter;
  /** The offset an input partition is held below (the worker's InputFence), if any. */
  inputLimitOf?: (topic: string, partition: number) => number | undefined;
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
 * - runs each fetched batch: prefetch the keys it reads, then process it synchronously; a
 *   task reading several partitions buffers them and processes in time order across them
 *   (PartitionGroup);
 * - commits, in the order of DESIGN "Commit" (see `commit`).
 */
export class TaskManager {
  private readonly tasks = new Map<string, RunningTask>();
  private readonly suspended = new Map<string, RunningTask>();
  /** topic-partition -> the task reading it */
  private readonly byPartition = new Map<string, RunningTask>();
  /** topic-partition -> its log end as last fetched or looked up (for PartitionGroup lag) */
  private readonly ends = new Map<string, number>();
  /** Partitions of a PartitionGroup whose end is not known: looked up after the poll. */
  private readonly endsWanted = new Map<string, TopicPartition>();
  private readonly endLookups = new Map<string, number>();
  private internal: Set<string> | undefined;
  /** Records processed, for metrics. */
  processed = 0;
  commits = 0;
  /** Records processed since the last commit, per source topic: what a close without a
   * commit leaves to be processed again. */
  private readonly sinceCommit = new Map<string, number>();
  /** When the running slice of processing ends (performance.now()): see run. */
  private sliceEnd = 0;
  private readonly closedDrops = noDrops();
  /** What the closed tasks counted, per task id (a task run again adds to it). */
  private readonly closedMetrics = new Map<string, TaskMetrics>();
  /** The single-input tasks' partitions, in time order across them (orderTasksByTime). */
  private scheduler: PartitionGroup | null = null;

  private readonly committer: TaskCommitter;

  constructor(private readonly options: TaskManagerOptions) {
    this.committer = options.committer ?? new AtLeastOnceCommitter(options.consumer);
  }

  taskIds(): string[] {
    return [...this.tasks.keys()].sort();
  }

  /** What every task dropped since the manager started, closed tasks included. */
  drops(): DropCounts {
    const n = { ...this.closedDrops };
    for (const t of this.tasks.values()) addTaskDrops(n, t.task, t.stores);
    for (const t of this.suspended.values()) addTaskDrops(n, t.task, t.stores);
    return n;
  }

  /** Per task id, what each task this manager has run counted (closed ones included). */
  taskMetrics(): Record<string, TaskMetrics> {
    const out: Record<string, TaskMetrics> = {};
    for (const [id, m] of this.closedMetrics) out[id] = { ...m };
    for (const t of [...this.tasks.values(), ...this.suspended.values()]) {
      out[t.id] = addTaskMetrics(out[t.id] ?? noTaskMetrics(), t);
    }
    return out;
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
    // Forgotten once closed: a closed task found here again when its partition comes back
    // would fail on its first record with "store … is closed", and count its drops twice.
    for (const [id, t] of [...this.suspended]) {
      if (wanted.has(id)) continue;
      this.suspended.delete(id);
      await this.close(t);
    }
    for (const [id, { sub, partition }] of wanted) {
      let t = this.suspended.get(id) ?? this.tasks.get(id);
      this.suspended.delete(id);
      t ??= await this.create(sub, partition);
      // idleness counts from the assignment: a rebalance is no quiet input
      t.lastRecordAt = Date.now();
      this.tasks.set(id, t);
    }
    this.byPartition.clear();
    this.ends.clear();
    for (const tp of partitions) {
      const sub = this.options.topology.subtopologyReading(tp.topic)!;
      this.byPartition.set(
        topicPartitionKey(tp.topic, tp.partition),
        this.tasks.get(sub.taskId(tp.partition))!,
      );
    }
    this.rebuildScheduler();
  }

  /**
   * A new scheduler over the partitions of the single-input tasks now running. What the
   * old one still buffered for a partition that stays is fetched again: the consumer is
   * sought back to its first buffered record (and resumed if it was paused).
   */
  private rebuildScheduler(): void {
    const old = this.scheduler;
    this.scheduler = null;
    if (old !== null) {
      const consumer = this.options.consumer();
      for (const [key, t] of this.byPartition) {
        if (t.group !== null) continue;
        const first = old.firstBufferedOffset(key);
        if (first !== undefined)
          consumer.seek({ topic: t.task.sourceTopics[0]!, partition: t.task.partition }, first);
      }
      const paused = old.clear();
      if (paused.length > 0) consumer.resume(paused);
    }
    if (this.options.orderTasksByTime !== true) return;
    const inputs: { sub: SubTopology; topic: string; partition: number }[] = [];
    for (const t of this.tasks.values()) {
      if (t.group !== null) continue;
      const topic = t.task.sourceTopics[0]!;
      const sub = this.options.topology.subtopologyReading(topic)!;
      inputs.push({ sub, topic, partition: t.task.partition });
    }
    if (inputs.length >= 2) this.scheduler = this.timeOrderedQueues(inputs, TASK_ORDER_SLACK_MS);
  }

  /**
   * Queues over these inputs that hand out records lowest time first (PartitionGroup):
   * strictly inside a task (slack 0), within `slackMs` across the worker's tasks.
   */
  private timeOrderedQueues(
    inputs: readonly { sub: SubTopology; topic: string; partition: number }[],
    slackMs = 0,
  ): PartitionGroup {
    return new PartitionGroup(
      inputs.map(({ sub, topic, partition }) => ({
        tp: { topic, partition },
        timeOf: extractedTime(sub.sources.get(topic)!, topic, partition),
      })),
      {
        maxTaskIdleMs: this.options.maxTaskIdleMs ?? 0,
        maxQueuedBytes: MAX_QUEUED_BYTES,
        lagOf: (tp) => this.lagOf(tp),
        slackMs,
      },
    );
  }

  /** Commits everything, then suspends the tasks of these partitions. */
  async onRevoked(partitions: readonly TopicPartition[]): Promise<void> {
    await this.commit();
    // committed up to the first buffered records: fetched again from there
    const paused = this.scheduler?.clear() ?? [];
    if (paused.length > 0) this.options.consumer().resume(paused);
    for (const tp of partitions) {
      const t = this.byPartition.get(topicPartitionKey(tp.topic, tp.partition));
      if (t === undefined) continue;
      this.byPartition.delete(topicPartitionKey(tp.topic, tp.partition));
      this.tasks.delete(t.id);
      // committed up to its first buffered record: fetched again from there on resume
      const paused = t.group?.clear() ?? [];
      if (paused.length > 0) this.options.consumer().resume(paused);
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
    this.sinceCommit.clear();
    if (this.scheduler !== null) this.rebuildScheduler();
  }

  /**
   * Runs what one poll fetched: the prefetches of all batches go out together (one
   * getMany per store, the tasks' stores are distinct), then each batch is processed
   * synchronously. Batches of one task go one after another, since a prefetch serves
   * until the next one. A task reading several partitions buffers what came and processes
   * what its PartitionGroup hands out, in time order across them (`drain`). Throws what a
   * task throws (a ProcessingError under errorHandling "fail", a PrefetchMissError): the
   * worker stops.
   */
  async processAll(fetched: readonly FetchedPartition[]): Promise<void> {
    this.sliceEnd = performance.now() + SLICE_MS;
    const seen = new Set<RunningTask>();
    const parallel: { t: RunningTask; f: FetchedPartition }[] = [];
    const later: FetchedPartition[] = [];
    for (const f of fetched) {
      const key = topicPartitionKey(f.topic, f.partition);
      const t = this.byPartition.get(key);
      if (t === undefined) continue;
      const end = this.ends.get(key);
      if (end === undefined || f.highWatermark > end) this.ends.set(key, f.highWatermark);
      if (t.group !== null) {
        t.group.add(key, f.records);
        continue;
      }
      if (this.scheduler !== null) {
        this.scheduler.add(key, f.records);
        continue;
      }
      if (f.records.length === 0) continue;
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
    for (const { t, f } of parallel) await this.run(t, f.topic, f.partition, f.records);
    for (const f of later) await this.process(f);
    if (this.hasGroups || this.scheduler !== null) await this.drainGroups();
  }

  /** Runs one fetched batch: prefetch the keys it reads, then process it. */
  async process(fetched: FetchedPartition): Promise<void> {
    const t = this.byPartition.get(topicPartitionKey(fetched.topic, fetched.partition));
    if (t === undefined || fetched.records.length === 0) return;
    if (t.group !== null) return this.processAll([fetched]);
    if (t.prefetcher.active) await t.prefetcher.prefetch(fetched.topic, fetched.records);
    await this.run(t, fetched.topic, fetched.partition, fetched.records);
  }

  private get hasGroups(): boolean {
    for (const t of this.tasks.values()) if (t.group !== null) return true;
    return false;
  }

  /**
   * Processes what the PartitionGroups of the tasks reading several partitions allow,
   * looks up the ends of partitions whose lag no fetch has told (then tries again), and
   * pauses the partitions whose queue grew too large, resuming those that drained.
   */
  private async drainGroups(): Promise<void> {
    const drainAll = async () => {
      const scheduler = this.scheduler;
      if (scheduler !== null) {
        await this.drain(scheduler, (r) =>
          this.byPartition.get(topicPartitionKey(r.topic, r.partition)),
        );
      }
      for (const t of this.tasks.values()) if (t.group !== null) await this.drain(t.group, () => t);
    };
    await drainAll();
    if (this.endsWanted.size > 0 && (await this.lookUpEnds())) await drainAll();
    const consumer = this.options.consumer();
    for (const group of [this.scheduler, ...[...this.tasks.values()].map((t) => t.group)]) {
      if (group === null) continue;
      const { pause, resume } = group.pausesWanted();
      if (pause.length > 0) consumer.pause(pause);
      if (resume.length > 0) consumer.resume(resume);
    }
  }

  /**
   * Runs what a PartitionGroup hands out, in its time order: a task's own group, or the
   * worker-wide scheduler of the single-input tasks (lowest time first across them). Each
   * batch's runs are prefetched per task (one prefetch serves all of a task's runs of the
   * batch), then processed in the group's order.
   */
  private async drain(
    group: PartitionGroup,
    taskOf: (run: SourceRun) => RunningTask | undefined,
  ): Promise<void> {
    for (;;) {
      const runs = group.nextBatch(Date.now(), MAX_GROUP_BATCH);
      if (runs === null) {
        for (const tp of group.unknownLag()) {
          this.endsWanted.set(topicPartitionKey(tp.topic, tp.partition), tp);
        }
        return;
      }
      const byTask = new Map<RunningTask, SourceRun[]>();
      for (const r of runs) {
        const t = taskOf(r);
        if (t === undefined) continue;
        const rs = byTask.get(t);
        if (rs === undefined) byTask.set(t, [r]);
        else rs.push(r);
      }
      await Promise.all(
        [...byTask].map(([t, rs]) =>
          t.prefetcher.active ? t.prefetcher.prefetchRuns(rs) : undefined,
        ),
      );
      for (const r of runs) {
        const t = taskOf(r);
        if (t !== undefined) await this.run(t, r.topic, r.partition, r.records);
      }
    }
  }

  /** Looks up the log ends wanted by the groups; true when one became known. */
  private async lookUpEnds(): Promise<boolean> {
    const endOffsets = this.options.endOffsets;
    const wanted = [...this.endsWanted];
    this.endsWanted.clear();
    if (endOffsets === undefined) return false;
    const now = Date.now();
    const topics = new Set<string>();
    for (const [key, tp] of wanted) {
      if (now - (this.endLookups.get(key) ?? 0) < END_LOOKUP_INTERVAL_MS) continue;
      this.endLookups.set(key, now);
      topics.add(tp.topic);
    }
    let found = false;
    for (const topic of topics) {
      for (const o of await endOffsets(topic)) {
        const key = topicPartitionKey(topic, o.partition);
        if (!this.byPartition.has(key) || this.ends.has(key)) continue;
        this.ends.set(key, o.offset);
        found = true;
      }
    }
    return found;
  }

  /**
   * Records behind the log end for a PartitionGroup, or behind the input limit when that
   * is lower (nothing past it will come); undefined while not known.
   */
  private lagOf(tp: TopicPartition): number | undefined {
    const position = this.options.consumer().position(tp);
    if (position === undefined) return undefined;
    let end = this.ends.get(topicPartitionKey(tp.topic, tp.partition));
    const limit = this.options.inputLimitOf?.(tp.topic, tp.partition);
    if (limit !== undefined) end = end === undefined ? limit : Math.min(end, limit);
    return end === undefined ? undefined : Math.max(0, end - position);
  }

  /**
   * Runs one batch of a task in slices of about SLICE_MS, yielding to the event loop
   * between them: a big batch (or a slow processor) must not hold the loop, or the
   * consumer's heartbeats stop and the group drops this worker, and everything since the
   * last commit is processed again. Nothing else touches the task meanwhile (the worker's
   * loop waits for processAll; a rebalance happens inside its next poll).
   */
  private async run(
    t: RunningTask,
    topic: string,
    partition: number,
    records: readonly LogRecord[],
  ): Promise<void> {
    const key = topicPartitionKey(topic, partition);
    for (let i = 0; i < records.length; ) {
      if (performance.now() >= this.sliceEnd) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.sliceEnd = performance.now() + SLICE_MS;
      }
      // Watermark records on internal topics are the runtime's own, not the app's input.
      const slice = t.task.processSlice(topic, partition, records, i, this.sliceEnd);
      i = slice.next;
      this.processed += slice.input;
      t.processed += slice.input;
      this.sinceCommit.set(topic, (this.sinceCommit.get(topic) ?? 0) + slice.input);
    }
    t.lastRecordAt = Date.now();
    if (!t.progressed.has(key)) t.progressed.set(key, { topic, partition });
  }

  /** Fires due wall-clock punctuations in every task, and lets inputs go idle. */
  punctuate(now: number): void {
    for (const t of this.tasks.values()) {
      t.task.advanceWallClock(now);
      const et = t.task.eventTimeKeeper();
      if (et?.checkIdle(now, (topic) => this.caughtUp(topic, t))) {
        t.task.advanceEventTime();
      }
    }
  }

  /** The task's partition of `topic` is known to be at its log end. Not known (nothing
   * fetched since the assignment): not caught up, and its end is looked up at the next
   * commit. */
  private caughtUp(topic: string, t: RunningTask): boolean {
    const tp = { topic, partition: t.task.partition };
    const key = topicPartitionKey(topic, tp.partition);
    const end = this.ends.get(key);
    if (end === undefined) {
      this.endsWanted.set(key, tp);
      return false;
    }
    // a partition no fetch has answered for has no position yet: caught up if empty
    const position = this.options.consumer().position(tp);
    return position === undefined ? end === 0 : position >= end;
  }

  /** Whether every input partition of a task that keeps no event time is idle. */
  private idle(t: RunningTask, now: number): boolean {
    const et = t.task.eventTimeKeeper();
    if (et !== null) return et.allIdle();
    const sub = this.options.topology.subtopologyReading(t.task.sourceTopics[0]!)!;
    return t.task.sourceTopics.every(
      (topic) => now - t.lastRecordAt >= this.idleTimeoutOf(sub, topic) && this.caughtUp(topic, t),
    );
  }

  /** A source topic's idle timeout: its own (`Consumed.idleTimeoutMs`), or the app's. */
  private idleTimeoutOf(sub: SubTopology, topic: string): number {
    return (
      sub.sources.get(topic)?.idleTimeoutMs ?? this.options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
    );
  }

  /** True when a store has buffered enough that waiting for the interval costs memory. */
  commitNeeded(): boolean {
    for (const t of this.tasks.values()) {
      if (t.task.commitRequested) return true;
      for (const s of t.stores) if (s.commitNeeded()) return true;
    }
    return false;
  }

  /**
   * The commit (DESIGN "Commit"; Kafka's TaskManager.commit):
   *   1. flush every store's write-back cache into its change-logging layer;
   *   2. the committer makes durable, in its order: the collector's output, repartition
   *      and dead-letter records; each store's changelog append and its ONE RocksDB batch
   *      holding the data and the changelog offset; the input positions of the partitions
   *      processed, fenced by generation. At-least-once (task-committer.ts) does them one
   *      after another; exactly-once (exactly-once-commit.ts) puts the records and the
   *      offsets in one transaction and writes the RocksDB batches after it commits.
   */
  async commit(): Promise<number> {
    const tasks = [...this.tasks.values()];
    for (const t of tasks) t.task.commitRequested = false;
    for (const t of tasks) for (const s of t.stores) s.flush();
    // after the flush: aggregates forwarded what their caches held, so each watermark
    // follows every record its task emitted before it
    if (this.endsWanted.size > 0) await this.lookUpEnds();
    const now = Date.now();
    for (const t of tasks) {
      t.watermarks?.publish(this.options.collector, t.task.streamTime(), this.idle(t, now), now);
    }
    const offsets = this.inputOffsets(tasks);
    await this.committer.commit({
      flushOutputs: () => this.options.collector.flush(),
      commitStores: () => tasks.flatMap((t) => t.stores.map((s) => s.commit())),
      offsets,
    });
    for (const t of tasks) t.progressed.clear();
    this.sinceCommit.clear();
    this.commits++;
    return offsets.length;
  }

  /** The positions to commit: never past a record still buffered in a PartitionGroup. */
  private inputOffsets(tasks: readonly RunningTask[]): CommittedOffset[] {
    const consumer = this.options.consumer();
    const offsets: CommittedOffset[] = [];
    for (const t of tasks) {
      const metadata = encodeStreamTime(t.task.streamTime(), t.task.eventTimeKeeper());
      for (const tp of t.progressed.values()) {
        const offset =
          (t.group ?? this.scheduler)?.firstBufferedOffset(
            topicPartitionKey(tp.topic, tp.partition),
          ) ?? consumer.position(tp);
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
    return offsets;
  }

  /**
   * Records processed since the last commit, per source topic ("topic: n, …"; "" when
   * none): a close without a commit leaves them to be processed again, and says so.
   */
  uncommitted(): string {
    return Object.entries(this.uncommittedCounts())
      .map(([topic, n]) => `${topic}: ${n}`)
      .join(", ");
  }

  /** Records processed since the last commit, per source topic (sorted by topic). */
  uncommittedCounts(): Record<string, number> {
    return Object.fromEntries([...this.sinceCommit].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  }

  /** Closes every task, suspended ones too, without committing. */
  async closeAll(): Promise<void> {
    const all = [...this.tasks.values(), ...this.suspended.values()];
    this.tasks.clear();
    this.suspended.clear();
    this.byPartition.clear();
    this.sinceCommit.clear();
    const paused = this.scheduler?.clear() ?? [];
    this.scheduler = null;
    if (paused.length > 0) this.options.consumer().resume(paused);
    const errors: unknown[] = [];
    for (const t of all) await this.close(t).catch((e) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  }

  private async create(sub: SubTopology, partition: number): Promise<RunningTask> {
    const id = sub.taskId(partition);
    const started = performance.now();
    const opened = await openTaskStores(sub.stores, id, partition, this.options.stores);
    const { app, collector } = this.options;
    let task: StreamTask;
    try {
      const committed = await committedTaskTime(
        sub,
        partition,
        this.internalTopics,
        this.options.consumer(),
      );
      const eventTime = this.eventTimeOf(sub, committed);
      task = new StreamTask({
        streamTime: committed.time,
        ...(eventTime === null ? {} : { eventTime, internalTopics: this.internalTopics }),
        applicationId: app.applicationId,
        subtopology: sub,
        partition,
        collector,
        openStore: (spec) => opened.get(spec.name)!,
        errorHandling: app.config.errorHandling,
        deadLetterTopic: app.config.deadLetterTopic,
        recordCacheBytes: this.options.stores.recordCacheBytes ?? 0,
        ...(this.options.globalStores === undefined
          ? {}
          : { globalStores: this.options.globalStores }),
      });
    } catch (e) {
      for (const s of opened.values()) s.close();
      await Promise.all([...opened.values()].map((s) => s.closed().catch(() => {})));
      throw e;
    }
    const stores = sub.stores.map((spec) => opened.get(spec.name)!);
    this.options.onTaskRestored?.({ taskId: id, durationMs: performance.now() - started });
    this.options.onTaskStores?.(id, partition, opened);
    return {
      id,
      task,
      stores,
      prefetcher: new BatchPrefetcher(sub, stores),
      progressed: new Map(),
      group: this.partitionGroup(sub, partition),
      watermarks: this.publisherOf(sub, partition),
      lastRecordAt: Date.now(),
      processed: 0,
    };
  }

  private get internalTopics(): ReadonlySet<string> {
    this.internal ??= new Set(
      this.options.topology.internalTopics
        .filter((t) => t.purpose === "repartition")
        .map((t) => t.name),
    );
    return this.internal;
  }

  /**
   * The event time keeper of a task reading internal topics: the writers it expects on
   * each are the tasks of the sub-topologies writing it (as many as the layout says);
   * null for a task reading only source topics, or with no layout.
   */
  private eventTimeOf(sub: SubTopology, committed: CommittedTime): EventTime | null {
    const layout = this.options.layout;
    if (layout === undefined) return null;
    const et = eventTimeFor(
      this.options.topology,
      sub,
      this.internalTopics,
      layout,
      { time: committed.time, now: Date.now() },
      (topic) => this.idleTimeoutOf(sub, topic),
    );
    if (et !== null && committed.writers !== "") et.restoreWriters(committed.writers);
    return et;
  }

  /** The publisher of a task whose sub-topology writes internal topics; null if none. */
  private publisherOf(sub: SubTopology, partition: number): WatermarkPublisher | null {
    const layout = this.options.layout;
    if (layout === undefined) return null;
    return watermarkPublisherFor(sub, partition, this.internalTopics, layout);
  }

  /** The queues of a task reading several partitions; null for one (no per-record cost). */
  private partitionGroup(sub: SubTopology, partition: number): PartitionGroup | null {
    if (sub.sourceTopics.length < 2) return null;
    return this.timeOrderedQueues(sub.sourceTopics.map((topic) => ({ sub, topic, partition })));
  }

  private async close(t: RunningTask): Promise<void> {
    this.options.onTaskStores?.(t.id, t.task.partition, null);
    addTaskDrops(this.closedDrops, t.task, t.stores);
    this.closedMetrics.set(
      t.id,
      addTaskMetrics(this.closedMetrics.get(t.id) ?? noTaskMetrics(), t),
    );
    t.task.close();
    await Promise.all(t.stores.map((s) => s.closed()));
  }
}

/** Default idleTimeoutMs: see docs/streams-runtime.md "Idle inputs". */
export const DEFAULT_IDLE_TIMEOUT_MS = 10_000;
