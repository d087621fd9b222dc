import type { CommittedOffset, Consumer } from "@tributary/log";

/** Kafka Streams' processing.guarantee. */
export type ProcessingGuarantee = "at_least_once" | "exactly_once";

export const PROCESSING_GUARANTEES: readonly ProcessingGuarantee[] = [
  "at_least_once",
  "exactly_once",
];

/**
 * What a commit hands its committer once the task manager has flushed every store's
 * caches and published the watermarks: the three things a commit makes durable.
 */
export interface CommitSteps {
  /** Sends what the collector buffered (outputs, repartition, dead letters); resolves
   * once all of it is acknowledged. */
  flushOutputs(): Promise<void>;
  /**
   * Starts every store's commit (changelog append, then one engine batch with the data
   * and the changelog offset) and returns their promises. Each store with changes enters
   * the worker's CommitBarrier synchronously in this call when there is one.
   */
  commitStores(): Promise<void>[];
  /** The input positions the commit covers, with the tasks' stream times as metadata. */
  offsets: CommittedOffset[];
}

/** Makes a commit's outputs, store changes and input offsets durable, in its order. */
export interface TaskCommitter {
  readonly guarantee: ProcessingGuarantee;
  commit(steps: CommitSteps): Promise<void>;
}

/**
 * At-least-once (DESIGN "Commit"): outputs acknowledged, then each store's changelog
 * append and engine batch, then the input offsets, fenced by the group generation. A
 * crash between two steps leaves the offsets behind what outputs and stores hold: the
 * records after them are processed again, never lost.
 */
export class AtLeastOnceCommitter implements TaskCommitter {
  readonly guarantee = "at_least_once";

  constructor(private readonly consumer: () => Consumer) {}

  async commit(steps: CommitSteps): Promise<void> {
    await steps.flushOutputs();
    await Promise.all(steps.commitStores());
    if (steps.offsets.length > 0) await this.consumer().commit(steps.offsets);
  }
}
