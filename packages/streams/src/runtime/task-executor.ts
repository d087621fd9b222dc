import {
  type Consumer,
  type FetchedPartition,
  type LogRecord,
  topicPartitionKey,
} from "@tributary/log";
import type { PartitionEnds } from "./partition-ends.js";
import type { PartitionGroup, SourceRun } from "./partition-group.js";
import type { RunningTask } from "./running-task.js";

/** Most records a task with several inputs processes per prefetch (about what one fetch
 * of a single-input task brings: fewer, larger prefetches; a window store prefetch scans
 * whole segments, so their number counts). */
const MAX_GROUP_BATCH = 16_384;
/**
 * Longest the task loop runs before it yields to the event loop, so heartbeats, fetches
 * and acks keep flowing during a big batch (a yield costs a few µs: nothing at this size).
 */
const SLICE_MS = 20;

/** The running tasks as the TaskManager holds them, which the executor reads. */
export interface ExecutorTasks {
  /** task id -> task */
  readonly tasks: ReadonlyMap<string, RunningTask>;
  /** topic-partition -> the task reading it */
  readonly byPartition: ReadonlyMap<string, RunningTask>;
  /** The single-input tasks' partitions, in time order across them (orderTasksByTime). */
  scheduler(): PartitionGroup | null;
}

/**
 * Runs fetched records through a worker's tasks (Kafka's TaskExecutor): prefetch the keys
 * a batch reads, then process it in slices that yield to the event loop. Records of a task
 * reading several partitions, and of all single-input tasks when the worker orders tasks
 * by time, wait in a PartitionGroup and run in the order it hands them out. Counts what
 * was processed, and what since the last commit.
 */
export class TaskExecutor {
  /** Records processed, for metrics. */
  processed = 0;
  /** Records processed since the last commit, per source topic: what a close without a
   * commit leaves to be processed again. Cleared by the TaskManager. */
  readonly sinceCommit = new Map<string, number>();
  /** When the running slice of processing ends (performance.now()): see run. */
  private sliceEnd = 0;

  constructor(
    private readonly running: ExecutorTasks,
    private readonly ends: PartitionEnds,
    private readonly consumer: () => Consumer,
  ) {}

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
      const t = this.running.byPartition.get(key);
      if (t === undefined) continue;
      this.ends.fetched(key, f.highWatermark);
      if (t.group !== null) {
        t.group.add(key, f.records);
        continue;
      }
      const scheduler = this.running.scheduler();
      if (scheduler !== null) {
        scheduler.add(key, f.records);
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
    if (this.hasGroups || this.running.scheduler() !== null) await this.drainGroups();
  }

  /** Runs one fetched batch: prefetch the keys it reads, then process it. */
  private async process(fetched: FetchedPartition): Promise<void> {
    const t = this.running.byPartition.get(topicPartitionKey(fetched.topic, fetched.partition));
    if (t === undefined || fetched.records.length === 0) return;
    if (t.group !== null) return this.processAll([fetched]);
    if (t.prefetcher.active) await t.prefetcher.prefetch(fetched.topic, fetched.records);
    await this.run(t, fetched.topic, fetched.partition, fetched.records);
  }

  private get hasGroups(): boolean {
    for (const t of this.running.tasks.values()) if (t.group !== null) return true;
    return false;
  }

  /**
   * Processes what the PartitionGroups of the tasks reading several partitions allow,
   * looks up the ends of partitions whose lag no fetch has told (then tries again), and
   * pauses the partitions whose queue grew too large, resuming those that drained.
   */
  private async drainGroups(): Promise<void> {
    const drainAll = async () => {
      const scheduler = this.running.scheduler();
      if (scheduler !== null) {
        await this.drain(scheduler, (r) =>
          this.running.byPartition.get(topicPartitionKey(r.topic, r.partition)),
        );
      }
      for (const t of this.running.tasks.values()) {
        if (t.group !== null) await this.drain(t.group, () => t);
      }
    };
    await drainAll();
    if (this.ends.anyWanted && (await this.ends.lookUp())) await drainAll();
    const consumer = this.consumer();
    const groups = [
      this.running.scheduler(),
      ...[...this.running.tasks.values()].map((t) => t.group),
    ];
    for (const group of groups) {
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
        for (const tp of group.unknownLag()) this.ends.want(tp);
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
}
