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

/** A commit the worker's loop no longer waits for: `durable` settles when its offsets are
 * written (or rejects with what failed; its offsets are then not written). */
export interface CommitInFlight {
  durable: Promise<void>;
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
    await (await this.start(steps, true)).durable;
  }

  /**
   * Runs the commit as far as the worker's loop must wait for, in the same order as
   * `commit`, and hands back the rest (Kafka Streams waits for all of it; its producer
   * sends in the background, ours acknowledges). The offsets were fixed by the caller and
   * the outputs they cover are handed to the producer in this call, so while the loop
   * processes later records the offset write still follows their acknowledgement and
   * never covers a record whose output is unacknowledged. With stores the loop waits for
   * their batches too: a store commit takes what is pending when it starts, and one
   * started later would also hold changes of records past the offsets, repeated after any
   * crash instead of only after one inside a commit. Without stores (a stateless one-step
   * topology: the latency path) the loop waits for nothing.
   */
  async start(steps: CommitSteps, stores: boolean): Promise<CommitInFlight> {
    const flushed = steps.flushOutputs();
    if (stores) {
      await flushed;
      await Promise.all(steps.commitStores());
      return { durable: this.commitOffsets(steps) };
    }
    return { durable: flushed.then(() => this.commitOffsets(steps)) };
  }

  private async commitOffsets(steps: CommitSteps): Promise<void> {
    if (steps.offsets.length > 0) await this.consumer().commit(steps.offsets);
  }
}
