import { type RebalanceListener, type TopicPartition, topicPartitionKey } from "@tributary/log";
import { CommitAbortedError } from "../errors.js";
import { isFenced, isRebalancing } from "./group-errors.js";
import type { TaskManager } from "./task-manager.js";
import type { WorkerOptions } from "./worker-options.js";
import { errorText, repeated, warnFields } from "./worker-warnings.js";

/** What the listener reads of its worker and asks of it. */
export interface RebalanceWorker {
  readonly manager: TaskManager;
  readonly options: Pick<WorkerOptions, "warn" | "onTasksAssigned">;
  /** Records behind the log end per input partition: a lost partition's entry goes. */
  readonly lag: Map<string, number>;
  /** The worker failed: nothing is committed or created any more. */
  failed(): boolean;
  /** Committed and leaving the group: revocation has nothing left to commit. */
  leaving(): boolean;
  /** Under exactly-once a loss takes every task back to the last commit. */
  exactlyOnce(): boolean;
  /** Exactly-once: every task back to the last commit (exactly-once-rollback.ts). */
  rollBack(cause: unknown, gone: TopicPartition[] | null): Promise<void>;
}

/**
 * A worker's consumer rebalance listener (Kafka Streams' StreamsRebalanceListener):
 * assignment creates or resumes tasks, revocation commits and suspends them, loss closes
 * them without committing — at the worker loop's next safe point, since the consumer
 * reports a loss from its heartbeat timer, possibly while a batch is being processed.
 */
export class WorkerRebalanceListener implements RebalanceListener {
  /** Assignments received (the first one included). */
  rebalances = 0;
  private lost: TopicPartition[] = [];

  constructor(private readonly worker: RebalanceWorker) {}

  onPartitionsAssigned = async (partitions: TopicPartition[]): Promise<void> => {
    const { manager, options } = this.worker;
    if (this.worker.failed()) return;
    await this.closeLost();
    await manager.onAssigned(partitions);
    this.rebalances++;
    options.onTasksAssigned?.(manager.taskIds());
  };

  onPartitionsRevoked = async (partitions: TopicPartition[]): Promise<void> => {
    const { manager } = this.worker;
    if (this.worker.failed() || this.worker.leaving()) return;
    await this.closeLost();
    try {
      await manager.onRevoked(partitions);
    } catch (e) {
      // exactly-once: the transaction is aborted already; its tasks go back to the
      // last commit when the new assignment recreates them
      const aborted = e instanceof CommitAbortedError;
      if (!aborted && !isFenced(e) && !isRebalancing(e)) throw e;
      this.worker.options.warn?.(
        `commit on revocation refused (${errorText(e)}); closing tasks${repeated(manager)}`,
        warnFields("revoke-commit-refused", aborted ? e.cause : e, manager),
      );
      if (aborted) await this.worker.rollBack(e.cause, null);
      else await manager.closeAll();
    }
  };

  onPartitionsLost = (partitions: TopicPartition[]): void => {
    this.lost.push(...partitions);
  };

  /** Closes the tasks of the partitions lost since the last call, without committing. */
  async closeLost(): Promise<void> {
    if (this.lost.length === 0) return;
    const { manager } = this.worker;
    const lost = this.lost;
    this.lost = [];
    this.worker.options.warn?.(
      `${lost.length} partitions lost (the group dropped this worker: its session expired, or it did not poll within maxPollIntervalMs); closing their tasks${repeated(manager)}`,
      {
        ...warnFields("partitions-lost", undefined, manager),
        partitions: lost.map((tp) => topicPartitionKey(tp.topic, tp.partition)).join(","),
      },
    );
    for (const tp of lost) this.worker.lag.delete(topicPartitionKey(tp.topic, tp.partition));
    // exactly-once: the open transaction holds the lost tasks' records with the others'
    if (this.worker.exactlyOnce()) await this.worker.rollBack(new Error("partitions lost"), lost);
    else await manager.onLost(lost);
  }
}
