import {
  type CommittedOffset,
  type Consumer,
  type FetchedPartition,
  type PartitionOffset,
  type TopicPartition,
  topicPartitionKey,
} from "@tributary/log";
import type { StateStore } from "@tributary/state";
import { StreamsArgumentError } from "../errors.js";
import type { AppConfig } from "../topology/app.js";
import type { SubTopology, Topology } from "../topology/topology.js";
import { addTaskDrops, type DropCounts, noDrops } from "./drop-counts.js";
import type { TopicLayout } from "./internal-topics.js";
import { isFenced, isRebalancing } from "./group-errors.js";
import { PartitionEnds } from "./partition-ends.js";
import type { PartitionGroup } from "./partition-group.js";
import type { ProducingRecordCollector } from "./producing-record-collector.js";
import type { RunningTask } from "./running-task.js";
import type { RuntimeStore, StoreFactoryOptions } from "./store-factory.js";
import { AtLeastOnceCommitter, type TaskCommitter } from "./task-committer.js";
import { TaskExecutor } from "./task-executor.js";
import { TaskFactory } from "./task-factory.js";
import { addTaskMetrics, noTaskMetrics } from "./task-metrics.js";
import { encodeStreamTime } from "./task-time.js";
import type { TaskMetrics } from "./worker-metrics.js";
import type { TaskRestoredEvent } from "./worker-options.js";

/** How far (ms of record time) the worker-wide scheduler lets one task run past the next
 * oldest task's head: tasks over the same moments run in slices, not record by record. */
export const TASK_ORDER_SLACK_MS = 1_000;

export interface TaskManagerOptions {
  /** The app's config, as the Worker was given it. */
  config: Readonly<Required<AppConfig>>;
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
  /**
   * These tasks are about to be active here (called on assignment, before their stores
   * open): standby copies of them let go of their directories (standby-tasks.ts).
   */
  claimTasks?: (taskIds: readonly string[]) => Promise<void>;
  /** The offset an input partition is held below (the worker's InputFence), if any. */
  inputLimitOf?: (topic: string, partition: number) => number | undefined;
}

/**
 * Owns a worker's tasks (Kafka's TaskManager), one per sub-topology and partition:
 * - on assignment, creates the tasks of the assigned partitions (TaskFactory: stores
 *   opened and restored from their changelogs first) and resumes suspended ones handed
 *   back;
 * - on revocation, commits and suspends: rebalances are eager and sticky, so most tasks
 *   come straight back and keep their open stores and caches; those that do not are
 *   closed when the new assignment arrives;
 * - on loss (the session expired: another worker may own them already), closes without
 *   committing;
 * - runs each fetched batch through its task (TaskExecutor): prefetch the keys it reads,
 *   then process it; a task reading several partitions buffers them and processes in
 *   time order across them (PartitionGroup);
 * - commits, in the order of DESIGN "Commit" (see `commit`).
 */
export class TaskManager {
  private readonly tasks = new Map<string, RunningTask>();
  private readonly suspended = new Map<string, RunningTask>();
  /** topic-partition -> the task reading it */
  private readonly byPartition = new Map<string, RunningTask>();
  /** The assigned partitions' log ends (for PartitionGroup lag and idleness). */
  private readonly ends: PartitionEnds;
  private readonly factory: TaskFactory;
  private readonly executor: TaskExecutor;
  commits = 0;
  private readonly closedDrops = noDrops();
  /** What the closed tasks counted, per task id (a task run again adds to it). */
  private readonly closedMetrics = new Map<string, TaskMetrics>();
  /** The single-input tasks' partitions, in time order across them (orderTasksByTime). */
  private scheduler: PartitionGroup | null = null;

  private readonly committer: TaskCommitter;
  /** The last commit started, until settled: null when it succeeded, else its error. */
  private inFlight: Promise<{ error: unknown } | null> | null = null;
  private inFlightSettled = true;

  constructor(private readonly options: TaskManagerOptions) {
    this.committer = options.committer ?? new AtLeastOnceCommitter(options.consumer);
    this.ends = new PartitionEnds(
      options.consumer,
      options.endOffsets,
      (key) => this.byPartition.has(key),
      options.inputLimitOf,
    );
    this.factory = new TaskFactory(options, this.ends);
    this.executor = new TaskExecutor(
      { tasks: this.tasks, byPartition: this.byPartition, scheduler: () => this.scheduler },
      this.ends,
      options.consumer,
    );
  }

  /** Records processed, for metrics. */
  get processed(): number {
    return this.executor.processed;
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
          `assigned ${tp.topic}-${tp.partition}, which no sub-topology reads: another app uses the group '${this.options.topology.applicationId}'?`,
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
    await this.options.claimTasks?.([...wanted.keys()]);
    for (const [id, { sub, partition }] of wanted) {
      let t = this.suspended.get(id) ?? this.tasks.get(id);
      this.suspended.delete(id);
      t ??= await this.factory.create(sub, partition);
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
    if (inputs.length >= 2) {
      this.scheduler = this.factory.timeOrderedQueues(inputs, TASK_ORDER_SLACK_MS);
    }
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
    // a commit in flight for them was fenced or will be; one that failed otherwise (its
    // outputs) stops the worker as any failed commit does
    await this.settleCommit().catch((e: unknown) => {
      if (!isFenced(e) && !isRebalancing(e)) throw e;
    });
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
    this.executor.sinceCommit.clear();
    if (this.scheduler !== null) this.rebuildScheduler();
  }

  /** Runs what one poll fetched (TaskExecutor.processAll). Throws what a task throws: the
   * worker stops. */
  processAll(fetched: readonly FetchedPartition[]): Promise<void> {
    return this.executor.processAll(fetched);
  }

  /** Fires due wall-clock punctuations in every task, and lets inputs go idle. */
  punctuate(now: number): void {
    for (const t of this.tasks.values()) {
      t.task.advanceWallClock(now);
      const et = t.task.eventTimeKeeper();
      if (
        et?.checkIdle(now, (topic) => this.ends.caughtUp({ topic, partition: t.task.partition }))
      ) {
        t.task.advanceEventTime();
      }
    }
  }

  /** Whether every input partition of a task that keeps no event time is idle. */
  private idle(t: RunningTask, now: number): boolean {
    const et = t.task.eventTimeKeeper();
    if (et !== null) return et.allIdle();
    const sub = this.options.topology.subtopologyReading(t.task.sourceTopics[0]!)!;
    return t.task.sourceTopics.every(
      (topic) =>
        now - t.lastRecordAt >= this.factory.idleTimeoutOf(sub, topic) &&
        this.ends.caughtUp({ topic, partition: t.task.partition }),
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
   * Resolves when all of it is durable; a commit still in flight (`startCommit`) settles
   * first, and its failure is this call's.
   */
  async commit(): Promise<number> {
    const partitions = await this.startCommit(false);
    await this.settleCommit();
    return partitions;
  }

  /**
   * Starts a commit and, with `overlap` under at-least-once, resolves once the loop may go
   * on processing (AtLeastOnceCommitter.start): the rest completes in the background and
   * `settleCommit` reports it. Commits complete in order: the previous one is settled first
   * (its failure, unless a refusal during a rebalance, is thrown here and nothing more is
   * committed). `onDurable` runs when this commit's offsets are written. Resolves to the
   * number of partitions it covers.
   */
  async startCommit(overlap: boolean, onDurable?: (partitions: number) => void): Promise<number> {
    // One the group refused while completing a rebalance gave its partitions back to the
    // tasks' progress: this commit carries them (as the worker does for a blocking one).
    await this.settleCommit().catch((e: unknown) => {
      if (!isRebalancing(e)) throw e;
    });
    const tasks = [...this.tasks.values()];
    for (const t of tasks) t.task.commitRequested = false;
    for (const t of tasks) for (const s of t.stores) s.flush();
    // after the flush: aggregates forwarded what their caches held, so each watermark
    // follows every record its task emitted before it
    if (this.ends.anyWanted) await this.ends.lookUp();
    const now = Date.now();
    for (const t of tasks) {
      t.watermarks?.publish(this.options.collector, t.task.streamTime(), this.idle(t, now), now);
    }
    const offsets = this.inputOffsets(tasks);
    // What this commit covers stops counting as progress now; if it fails, the tasks that
    // stay get it back, so that a commit after a deferred one still carries its partitions.
    const progressed = tasks.map((t) => [t, [...t.progressed]] as const);
    const since = [...this.executor.sinceCommit];
    for (const t of tasks) t.progressed.clear();
    this.executor.sinceCommit.clear();
    const steps = {
      flushOutputs: () => this.options.collector.flush(),
      commitStores: () => tasks.flatMap((t) => t.stores.map((s) => s.commit())),
      offsets,
    };
    const c = this.committer;
    const started =
      overlap && c instanceof AtLeastOnceCommitter
        ? c.start(
            steps,
            tasks.some((t) => t.stores.length > 0),
          )
        : Promise.resolve({ durable: c.commit(steps) });
    const durable = started.then((f) => f.durable);
    this.inFlight = durable.then(
      () => {
        this.commits++;
        onDurable?.(offsets.length);
        return null;
      },
      (e: unknown) => {
        for (const [t, tps] of progressed) {
          if (this.tasks.get(t.id) !== t) continue;
          for (const [key, tp] of tps) if (!t.progressed.has(key)) t.progressed.set(key, tp);
        }
        const counts = this.executor.sinceCommit;
        for (const [topic, n] of since) counts.set(topic, (counts.get(topic) ?? 0) + n);
        return { error: e };
      },
    );
    this.inFlightSettled = false;
    void this.inFlight.then(() => {
      this.inFlightSettled = true;
    });
    // the loop goes on once the part it waits for is done; a failure there is the
    // commit's and reaches whoever settles it (next)
    await started.catch(() => {});
    return offsets.length;
  }

  /** Whether a commit the loop went on from has completed (settleCommit will not wait). */
  commitSettled(): boolean {
    return this.inFlight === null || this.inFlightSettled;
  }

  /** Waits for the commit in flight, if any, and throws what failed it (once). */
  async settleCommit(): Promise<void> {
    const pending = this.inFlight;
    if (pending === null) return;
    const outcome = await pending;
    if (this.inFlight === pending) this.inFlight = null;
    if (outcome !== null) throw outcome.error;
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
    return Object.fromEntries(
      [...this.executor.sinceCommit].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    );
  }

  /** Closes every task, suspended ones too, without committing. */
  async closeAll(): Promise<void> {
    // every task closes uncommitted and its partitions are read again from the committed
    // offsets, so what a commit in flight still does (or how it fails) changes nothing
    await this.settleCommit().catch(() => {});
    const all = [...this.tasks.values(), ...this.suspended.values()];
    this.tasks.clear();
    this.suspended.clear();
    this.byPartition.clear();
    this.executor.sinceCommit.clear();
    const paused = this.scheduler?.clear() ?? [];
    this.scheduler = null;
    if (paused.length > 0) this.options.consumer().resume(paused);
    const errors: unknown[] = [];
    for (const t of all) await this.close(t).catch((e) => errors.push(e));
    if (errors.length > 0) throw errors[0];
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
