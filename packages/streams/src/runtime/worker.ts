import {
  type Consumer,
  type Producer,
  type TopicPartition,
  topicPartitionKey,
} from "@tributary/log";
import type { AppConfig } from "../topology/app.js";
import { StreamsArgumentError, StreamsClosedError, WorkerFailedError } from "../errors.js";
import type { Topology } from "../topology/topology.js";
import { AppStatusPublisher } from "./app-status-publisher.js";
import { noDrops } from "./drop-counts.js";
import { GlobalStoreUpdater } from "./global-store-updater.js";
import { InputFence } from "./input-fence.js";
import { handleCommitFailure } from "./commit-failure.js";
import { ExactlyOnceCommitter, transactionalIdFor } from "./exactly-once-commit.js";
import { rollBackToLastCommit } from "./exactly-once-rollback.js";
import { ensureTopics } from "./internal-topics.js";
import { ProducingRecordCollector } from "./producing-record-collector.js";
import { RetentionLosses } from "./retention-losses.js";
import { StandbyTasks } from "./standby-tasks.js";
import { TaskManager } from "./task-manager.js";
import { WorkerQueries } from "./worker-queries.js";
import { WorkerRebalanceListener } from "./worker-rebalance-listener.js";
import type { WorkerMetrics, WorkerState } from "./worker-metrics.js";
import { defaultCommitIntervalMs, type WorkerOptions } from "./worker-options.js";

export type { TaskMetrics, WorkerMetrics, WorkerState } from "./worker-metrics.js";
export type {
  CommitEvent,
  RestoreProgressEvent,
  TaskRestoredEvent,
  WarnFields,
  WorkerOptions,
} from "./worker-options.js";

/** Output bytes awaiting acknowledgement above which the worker commits early (bounds
 * memory when the log is slower than processing). */
const MAX_UNACKED_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * A worker: one consumer in the app's group, the tasks of its partitions, and the loop
 * that feeds them (Kafka's StreamThread). Single-threaded: poll, process each partition's
 * batch (prefetch, then processing in slices that yield to the event loop so heartbeats
 * run; a task reading several partitions in time order across them, see PartitionGroup),
 * commit on the interval. `start()` makes
 * the topics and joins; `stop()` commits, closes the tasks and leaves the group, so the
 * partitions move at once. An error it cannot go on after (errorHandling "fail", a
 * failed commit) stops it without committing: `done` rejects with a WorkerFailedError
 * whose cause is the error, and a supervisor decides whether to restart.
 *
 * It runs a compiled Topology with its app's config, never the App that built it: the
 * caller compiles (`runWorker(app, options)` in dsl/ does `app.build()` and passes
 * `app.config`), so the runtime knows nothing of how a topology was described.
 */
export class Worker {
  private state: WorkerState = "created";
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private manager: TaskManager | null = null;
  private collector: ProducingRecordCollector | null = null;
  /** Exactly-once: the worker's transactional producer and commit order; null: at-least-once. */
  private eos: ExactlyOnceCommitter | null = null;
  /** Global tables: bootstrapped in start(), before any task exists. */
  private globals: GlobalStoreUpdater | null = null;
  private loop: Promise<void> | null = null;
  private failure: Error | null = null;
  /** Committed and leaving the group: revocation has nothing left to commit. */
  private leaving = false;
  private readonly lag = new Map<string, number>();
  private readonly lostToRetention: RetentionLosses;
  private restored = 0;
  private commitIntervalMs = 1000;
  private restoredMark = new Map<string, number>();
  /** Set in start(), before the consumer that calls it. */
  private rebalance: WorkerRebalanceListener | null = null;
  private readonly status = new AppStatusPublisher(this);
  private settle!: { resolve: () => void; reject: (e: Error) => void };
  /** Settles when the worker has stopped: resolves after `stop()`, rejects on failure. */
  readonly done: Promise<void>;
  private readonly fence: InputFence;
  private fenceCommitted: (() => void)[] = [];
  private readonly queries: WorkerQueries | null;
  /** numStandbyReplicas > 0: warm copies of other workers' stateful tasks. */
  private standbys: StandbyTasks | null = null;

  constructor(
    readonly topology: Topology,
    readonly config: Readonly<Required<AppConfig>>,
    private readonly options: WorkerOptions,
  ) {
    if (typeof options.stateDir !== "string" || options.stateDir === "") {
      throw new StreamsArgumentError("runWorker needs options.stateDir (where stores live)");
    }
    this.queries =
      options.query === false ? null : new WorkerQueries(this.topology, options.query ?? {});
    this.lostToRetention = new RetentionLosses(options.warn);
    this.fence = new InputFence(new Set(this.topology.sourceTopics()), options.inputLimit);
    this.done = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.done.catch(() => {}); // a caller that never looks at `done` gets onError
  }

  async start(): Promise<void> {
    if (this.state !== "created") throw new StreamsClosedError(`worker (${this.state})`);
    this.state = "starting";
    const { config, options, topology } = this;
    const { applicationId } = topology;
    const { log } = options;
    try {
      const layout = await ensureTopics(log.admin, topology, config.deadLetterTopic, (m) =>
        options.warn?.(m, { event: "changelog-config" }),
      );
      const clientId = options.clientId ?? `${applicationId}-${process.pid}`;
      const exactlyOnce =
        (options.processingGuarantee ?? config.processingGuarantee) === "exactly_once";
      this.commitIntervalMs = options.commitIntervalMs ?? defaultCommitIntervalMs(exactlyOnce);
      if (topology.globalStores.length > 0) {
        this.globals = await GlobalStoreUpdater.open(topology.globalStores, {
          applicationId,
          stateDir: options.stateDir,
          log,
          clientId,
          engine: options.storeEngine ?? "rocksdb",
          // exactly-once: a global table shows committed transactions only, as its tasks' inputs
          ...(exactlyOnce ? { isolation: "read_committed" as const } : {}),
          onBootstrapProgress: (store, done, total) =>
            this.restoreProgress("global", store, done, total),
          ...(options.warn === undefined ? {} : { warn: options.warn }),
        });
        await this.globals.bootstrap();
      }
      this.producer = log.producer({ clientId });
      if (exactlyOnce) {
        const identity = options.groupInstanceId ?? clientId;
        const transactionalId = transactionalIdFor(applicationId, identity);
        this.eos = new ExactlyOnceCommitter(
          log,
          { transactionalId, clientId, commitIntervalMs: this.commitIntervalMs },
          () => this.consumer!,
        );
        await this.eos.init();
      }
      const sends = this.eos?.producer ?? this.producer;
      // the partition counts let the collector encode outputs into batches itself, cut to
      // each topic's max.message.bytes
      this.collector = new ProducingRecordCollector(sends, async (topic) => {
        const d = await log.admin.describeTopic(topic);
        return { partitions: d.partitions.length, maxMessageBytes: d.config.maxMessageBytes };
      });
      // The sticky assignor moves few partitions, but assigns each topic on its own; a
      // sub-topology reading several topics needs partition p of each on one worker, which
      // the range assignor guarantees for co-partitioned topics.
      const assignor = topology.subtopologies.some((s) => s.sourceTopics.length > 1)
        ? ("range" as const)
        : ("sticky" as const);
      this.standbys = this.standbyTasks(clientId, assignor);
      this.manager = new TaskManager({
        config,
        topology,
        collector: this.collector,
        consumer: () => this.consumer!,
        maxTaskIdleMs: options.maxTaskIdleMs ?? 0,
        orderTasksByTime: options.orderTasksByTime ?? true,
        layout,
        idleTimeoutMs: options.idleTimeoutMs ?? config.idleTimeoutMs,
        endOffsets: (topic) => log.admin.listOffsets(topic, "latest"),
        inputLimitOf: (topic, partition) => this.fence.limitOf(topic, partition),
        ...(this.globals === null ? {} : { globalStores: this.globals.stores }),
        ...(this.eos === null ? {} : { committer: this.eos }),
        stores: {
          applicationId,
          stateDir: options.stateDir,
          log,
          producer: sends,
          ...(this.eos === null ? {} : { barrier: this.eos.barrier }),
          engine: options.storeEngine ?? "rocksdb",
          cacheBytes: options.cacheBytesPerStore ?? 10 * 1024 * 1024,
          recordCacheBytes: options.cacheMaxBytes ?? 10 * 1024 * 1024,
          lockWaitMs: options.storeLockWaitMs ?? 30_000,
          onRestoreProgress: (taskId, store, done, total) =>
            this.restoreProgress(taskId, store, done, total),
          ...(options.warn === undefined ? {} : { warn: options.warn }),
        },
        ...(options.onTaskRestored === undefined ? {} : { onTaskRestored: options.onTaskRestored }),
        ...(this.queries === null ? {} : { onTaskStores: this.queries.registry.onTaskStores }),
        ...(this.standbys === null ? {} : { claimTasks: this.standbys.claim.bind(this.standbys) }),
      });
      this.rebalance = new WorkerRebalanceListener({
        manager: this.manager,
        options,
        lag: this.lag,
        failed: () => this.failure !== null,
        leaving: () => this.leaving,
        exactlyOnce: () => this.eos !== null,
        rollBack: (cause, gone) => this.rollBack(cause, gone),
      });
      const sources = topology.subtopologies.flatMap((s) => s.sourceTopics);
      this.consumer = log.consumer({
        groupId: applicationId,
        clientId,
        autoOffsetReset: "earliest",
        assignor,
        // exactly-once: repartition topics (and inputs) only as committed transactions
        ...(this.eos === null ? {} : { isolation: "read_committed" as const }),
        ...(options.sessionTimeoutMs === undefined
          ? {}
          : { sessionTimeoutMs: options.sessionTimeoutMs }),
        ...(options.maxPollIntervalMs === undefined
          ? {}
          : { maxPollIntervalMs: options.maxPollIntervalMs }),
        ...(options.groupInstanceId === undefined
          ? {}
          : { groupInstanceId: options.groupInstanceId }),
        listener: this.rebalance,
        onPositionReset: this.lostToRetention.onPositionReset,
      });
      await this.consumer.subscribe(sources);
      this.status.start(log, clientId, options.warn);
      await this.queries?.start(log, clientId, options.warn ?? (() => {}));
      this.standbys?.start();
    } catch (e) {
      this.state = "failed";
      await this.queries?.stop();
      await this.release();
      const err = e instanceof Error ? e : new Error(String(e));
      this.failure = err;
      this.settle.reject(err);
      throw err;
    }
    this.state = "running";
    this.loop = this.run();
  }

  /** Commits, closes the tasks, leaves the group. Resolves when all of it is done. */
  async stop(): Promise<void> {
    if (this.state === "created") {
      this.state = "stopped";
      this.settle.resolve();
      return;
    }
    if (this.state === "running") this.state = "stopping";
    await this.loop;
    await this.done.catch(() => {});
  }

  /**
   * Stops reading input where each partition stands (the worker keeps processing its
   * internal topics) and resolves once that position is committed: what a live app does
   * before a new version takes over its outputs (`tributary promote`).
   */
  stopReadingInputs(): Promise<void> {
    this.fence.here();
    return new Promise((resolve) => this.fenceCommitted.push(resolve));
  }

  /** Where this worker serves interactive queries ("" before start or when off). */
  get queryUrl(): string {
    return this.queries?.url ?? "";
  }

  metrics(): WorkerMetrics {
    let totalLag = 0;
    for (const v of this.lag.values()) totalLag += v;
    const drops = this.manager?.drops() ?? noDrops();
    return {
      state: this.state,
      tasks: this.manager?.taskIds() ?? [],
      taskMetrics: this.manager?.taskMetrics() ?? {},
      rebalances: this.rebalance?.rebalances ?? 0,
      recordsProcessed: this.manager?.processed ?? 0,
      recordsSent: this.collector?.sent ?? 0,
      deadLettered: drops.deadLettered,
      deserializationFailed: drops.deserializationFailed,
      droppedLate: drops.late,
      commits: this.manager?.commits ?? 0,
      commitIntervalMs: this.commitIntervalMs,
      lag: Object.fromEntries(this.lag),
      totalLag,
      restored: this.restored,
      recordsLostToRetention: this.lostToRetention.total,
      lostToRetention: this.lostToRetention.byPartition(),
      standbyTasks: this.standbys?.lags() ?? {},
      standbyRecordsApplied: this.standbys?.recordsApplied ?? 0,
    };
  }

  private async run(): Promise<void> {
    const consumer = this.consumer!;
    const manager = this.manager!;
    const interval = this.commitIntervalMs;
    const pollMaxWaitMs = this.options.pollMaxWaitMs ?? Math.min(100, interval);
    let lastCommit = Date.now();
    try {
      while (this.state === "running") {
        // a commit the loop went on from has completed: a failure stops here, not a poll later
        if (manager.commitSettled()) await this.settleCommit(manager);
        this.fence.release(consumer);
        const fetched = await consumer.poll({ maxWaitMs: pollMaxWaitMs });
        this.fence.apply(consumer, fetched);
        await this.globals?.update();
        await this.rebalance!.closeLost();
        await manager.processAll(fetched);
        for (const f of fetched) {
          const position = consumer.position(f) ?? f.highWatermark;
          this.lag.set(
            topicPartitionKey(f.topic, f.partition),
            Math.max(0, f.highWatermark - position),
          );
        }
        await this.lostToRetention.refreshLag(this.lag, consumer, (topic) =>
          this.options.log.admin.listOffsets(topic, "latest"),
        );
        const now = Date.now();
        manager.punctuate(now);
        this.collector!.sendBuffered();
        // Only a commit on the interval overlaps the next polls (at-least-once): one that
        // bounds memory, or that stopReadingInputs waits for, completes first.
        const bounding =
          this.fenceCommitted.length > 0 ||
          manager.commitNeeded() ||
          this.collector!.backlogged(MAX_UNACKED_OUTPUT_BYTES);
        if (bounding || now - lastCommit >= interval) {
          await this.commit(manager, !bounding && this.eos === null);
          lastCommit = Date.now();
        }
      }
      // The consumer's close() marks it closed before it calls the revoke listener, so a
      // commit from there is refused: commit first, then let close() leave the group.
      await this.commit(manager);
      this.leaving = true;
      await consumer.close();
      await manager.closeAll();
      await this.status.stop();
      await this.queries?.stop();
      await this.release();
      this.state = "stopped";
      this.settle.resolve();
    } catch (e) {
      await this.fail(e);
    }
  }

  /**
   * Commits (TaskManager.startCommit). With `overlap` it returns once the loop may go on
   * and the commit completes in the background: the next commit, a revocation, a loss and
   * the stop wait for it first, and the loop looks at it before each poll (settleCommit).
   */
  private async commit(manager: TaskManager, overlap = false): Promise<void> {
    // the previous one first, through this worker's handling (a refusal is warned of)
    await this.settleCommit(manager);
    const started = Date.now();
    const waiting = this.fenceCommitted;
    this.fenceCommitted = [];
    const recordsProcessed = manager.processed;
    let loopWaitMs: number | undefined;
    try {
      await manager.startCommit(overlap, (partitions) => {
        const durationMs = Date.now() - started;
        loopWaitMs ??= durationMs;
        this.options.onCommit?.({ partitions, recordsProcessed, durationMs, loopWaitMs });
      });
      if (!overlap) await manager.settleCommit();
      loopWaitMs ??= Date.now() - started;
      for (const resolve of waiting) resolve();
    } catch (e) {
      // not committed: whoever waits for it waits for the next commit
      this.fenceCommitted.push(...waiting);
      await this.commitFailed(manager, e);
    }
  }

  /** Takes the outcome of the commit in flight, if any (see `commit`). */
  private async settleCommit(manager: TaskManager): Promise<void> {
    try {
      await manager.settleCommit();
    } catch (e) {
      await this.commitFailed(manager, e);
    }
  }

  private commitFailed(manager: TaskManager, e: unknown): Promise<void> {
    return handleCommitFailure(e, {
      manager,
      warn: this.options.warn,
      rollBack: (cause, gone) => this.rollBack(cause, gone),
    });
  }

  private async fail(e: unknown): Promise<void> {
    const cause = e instanceof Error ? e : new Error(String(e));
    const err = new WorkerFailedError(
      `worker of app '${this.topology.applicationId}' stopped: ${cause.message}`,
      cause,
    );
    this.failure = err;
    this.state = "failed";
    // Nothing is committed past the failure: the listener skips its commit while failed.
    await this.manager?.closeAll().catch(() => {});
    await this.consumer?.close().catch(() => {});
    await this.status.stop(err);
    await this.queries?.stop();
    await this.release();
    this.options.onError?.(err);
    this.settle.reject(err);
  }

  /** Exactly-once: every task back to the last commit (exactly-once-rollback.ts). */
  private async rollBack(cause: unknown, gone: TopicPartition[] | null): Promise<void> {
    await rollBackToLastCommit(
      {
        committer: this.eos!,
        collector: this.collector!,
        manager: this.manager!,
        consumer: this.consumer!,
        admin: this.options.log.admin,
      },
      cause,
      gone,
    );
  }

  private async release(): Promise<void> {
    await this.standbys?.stop();
    this.standbys = null;
    await this.eos?.close().catch(() => {});
    this.eos = null;
    await this.producer?.close().catch(() => {});
    this.producer = null;
    await this.globals?.close();
    this.globals = null;
  }

  /** The worker's standby tasks (numStandbyReplicas > 0, RocksDB stores), else null. */
  private standbyTasks(clientId: string, assignor: "range" | "sticky"): StandbyTasks | null {
    const { config, options, topology } = this;
    const replicas = options.numStandbyReplicas ?? config.numStandbyReplicas ?? 0;
    if (!(Number.isSafeInteger(replicas) && replicas >= 0)) {
      throw new StreamsArgumentError(
        `numStandbyReplicas must be an integer >= 0 (standby copies of each stateful task), got ${String(replicas)}`,
      );
    }
    if (replicas <= 0 || (options.storeEngine ?? "rocksdb") !== "rocksdb") return null;
    const standbys = new StandbyTasks({
      topology,
      stateDir: options.stateDir,
      log: options.log,
      replicas,
      assignor,
      ...(this.eos === null ? {} : { isolation: "read_committed" as const }),
      groupConsumer: () => this.consumer,
      activeTaskIds: () => this.manager?.taskIds() ?? [],
      clientId,
      warn: (m) => this.options.warn?.(m, { event: "standby-warning" }),
      onChange: (ids) => {
        this.queries?.registry.setStandbys(standbys);
        this.options.onStandbyTasks?.(ids);
      },
    });
    return standbys.enabled ? standbys : null;
  }

  private restoreProgress(taskId: string, store: string, done: number, total: number): void {
    const key = `${taskId}/${store}`;
    const mark = this.restoredMark.get(key) ?? 0;
    this.restored += done >= mark ? done - mark : done;
    this.restoredMark.set(key, done >= total ? 0 : done);
    this.status.restoreProgress(taskId, store, done, total);
    this.queries?.registry.restoreProgress(taskId, done, total);
    this.options.onRestore?.({ taskId, store, done, total });
  }
}
