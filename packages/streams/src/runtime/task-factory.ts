import type { SubTopology } from "../topology/topology.js";
import { BatchPrefetcher } from "./batch-prefetcher.js";
import type { EventTime } from "./event-time.js";
import { extractedTime, PartitionGroup } from "./partition-group.js";
import type { PartitionEnds } from "./partition-ends.js";
import type { RunningTask } from "./running-task.js";
import { openTaskStores } from "./store-factory.js";
import { StreamTask } from "./stream-task.js";
import type { TaskManagerOptions } from "./task-manager.js";
import {
  type CommittedTime,
  committedTaskTime,
  eventTimeFor,
  watermarkPublisherFor,
} from "./task-time.js";
import type { WatermarkPublisher } from "./watermark-publisher.js";

/** Buffered bytes per input partition of a time-ordered queue above which the partition
 * is paused (about eight full partition fetches: bounds memory while one input waits for
 * another). */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** Default idleTimeoutMs: see docs/streams-runtime.md "Idle inputs". */
export const DEFAULT_IDLE_TIMEOUT_MS = 10_000;

/**
 * Makes a worker's running tasks (Kafka's ActiveTaskCreator): opens and restores the
 * task's stores, reads its committed stream time, and gives it what its sub-topology
 * needs beside the StreamTask — an event time keeper when it reads internal topics, a
 * watermark publisher when it writes them, time-ordered queues when it reads several
 * partitions.
 */
export class TaskFactory {
  private internal: Set<string> | undefined;

  constructor(
    private readonly options: TaskManagerOptions,
    private readonly ends: PartitionEnds,
  ) {}

  /** A task of `sub` for `partition`, its stores open and restored. */
  async create(sub: SubTopology, partition: number): Promise<RunningTask> {
    const id = sub.taskId(partition);
    const started = performance.now();
    const opened = await openTaskStores(sub.stores, id, partition, this.options.stores);
    const { config, topology, collector } = this.options;
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
        applicationId: topology.applicationId,
        subtopology: sub,
        partition,
        collector,
        openStore: (spec) => opened.get(spec.name)!,
        errorHandling: config.errorHandling,
        deadLetterTopic: config.deadLetterTopic,
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

  /**
   * Queues over these inputs that hand out records lowest time first (PartitionGroup):
   * strictly inside a task (slack 0), within `slackMs` across the worker's tasks.
   */
  timeOrderedQueues(
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
        lagOf: (tp) => this.ends.lagOf(tp),
        slackMs,
      },
    );
  }

  /** A source topic's idle timeout: its own (`Consumed.idleTimeoutMs`), or the app's. */
  idleTimeoutOf(sub: SubTopology, topic: string): number {
    return (
      sub.sources.get(topic)?.idleTimeoutMs ?? this.options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
    );
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
}
