import { type ControlType, encodeControlBatch } from "../control-batch.js";
import { errnoOf } from "../errors.js";
import { isEncodedHere } from "../record-batch-encoded-here.js";
import type { TopicConfig } from "../topic-config.js";
import type { GroupCommit } from "./group-commit.js";
import type { HighWatermark } from "./high-watermark.js";
import type { PartitionSegments } from "./partition-segments.js";
import { stampProducedBatches } from "./produced-batches.js";
import type { ProducedBatch, ProducerState } from "./producer-state.js";
import type { WriteStall } from "./write-stall.js";

/** What the append path uses of its PartitionLog. */
export interface AppendTarget {
  /** `<topic>-<partition>`, for errors. */
  readonly name: string;
  readonly files: PartitionSegments;
  readonly producers: ProducerState;
  readonly stall: WriteStall;
  readonly hw: HighWatermark;
  readonly commits: GroupCommit;
  now(): number;
  config(): TopicConfig;
  /** Throws when the log is closed or stopped taking appends. */
  ensureWritable(): void;
  /** Stops the log taking appends after an unexpected (non-storage) failure. */
  fail(err: unknown): void;
  /** The writes opening owes before appends (see PartitionLog.prepareWrites). */
  prepareWrites(flushAll: boolean): void;
}

/**
 * A PartitionLog's write path: validating and stamping produced batches, deduplicating
 * idempotent retries, transaction markers, writing all or nothing, answering per the flush
 * policy, and retrying the disk after a stall (see PartitionLog for the failure rules).
 */
export class PartitionAppender {
  constructor(private readonly log: AppendTarget) {}

  /**
   * Appends a transaction marker (control-batch.ts) for `producerId` at `epoch`, written by
   * the transaction coordinator only: it ends the producer's open transaction here (and
   * moves the last stable offset past it). Resolves per the flush policy, like an append.
   */
  appendMarker(
    producerId: number,
    epoch: number,
    type: ControlType,
    coordinatorEpoch: number,
  ): Promise<{ baseOffset: number; lastOffset: number }> {
    try {
      this.log.ensureWritable();
      if (this.log.stall.active) this.retryWrites();
      const now = this.log.now();
      this.log.producers.checkMarker(producerId, epoch, now);
      const batch = encodeControlBatch(producerId, epoch, type, coordinatorEpoch, now);
      const offset = this.log.files.active.nextOffset;
      stampProducedBatches(batch, offset, Number.MAX_SAFE_INTEGER, this.log.name, true);
      this.writeBatches(batch);
      this.log.producers.recordMarker(producerId, epoch, type, offset, now);
      this.log.stall.end();
      return this.acknowledge({ baseOffset: offset, lastOffset: offset });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** An append's answer: at once, or under flush policy "always" after the fdatasync. */
  private acknowledge(result: {
    baseOffset: number;
    lastOffset: number;
  }): Promise<{ baseOffset: number; lastOffset: number }> {
    if (this.log.config().flushPolicy === "always")
      return this.log.commits.schedule().then(() => result);
    this.log.hw.advance(result.lastOffset + 1);
    return Promise.resolve(result);
  }

  /**
   * Validates each batch in `batch` (one or more back to back) and stamps its base offset
   * (see stampProducedBatches: a bad batch rejects the whole call before anything is
   * written; the caller's buffer is modified), writes the bytes as they are, and resolves
   * per the flush policy.
   */
  append(batch: Buffer): Promise<{ baseOffset: number; lastOffset: number }> {
    try {
      this.log.ensureWritable();
      if (this.log.stall.active) this.retryWrites();
      const baseOffset = this.log.files.active.nextOffset;
      stampProducedBatches(
        batch,
        baseOffset,
        this.log.config().maxMessageBytes,
        this.log.name,
        false,
        !isEncodedHere(batch),
      );
      const idempotent = this.log.producers.checkAppend(batch, this.log.now());
      if (idempotent !== null && idempotent.duplicate !== null) {
        return this.duplicateAck(idempotent.duplicate);
      }
      const lastOffset = this.writeBatches(batch) - 1;
      if (idempotent !== null) {
        this.log.producers.recordAppend(idempotent, baseOffset, lastOffset, this.log.now());
      }
      this.log.stall.end();
      return this.acknowledge({ baseOffset, lastOffset });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * The ack of a retried batch already in the log: its original offsets, once they are
   * visible (under "always", after the fsync that the original is waiting for).
   */
  private duplicateAck(
    original: ProducedBatch,
  ): Promise<{ baseOffset: number; lastOffset: number }> {
    const result = { baseOffset: original.baseOffset, lastOffset: original.lastOffset };
    if (original.lastOffset < this.log.hw.value) return Promise.resolve(result);
    return this.log.commits.schedule().then(() => result);
  }

  /**
   * Writes stamped batches, rolling segments as needed; returns the new log end offset.
   * All or nothing: a failure undoes what this call wrote (see PartitionSegments.undo).
   */
  private writeBatches(buf: Buffer): number {
    const mark = this.log.files.mark();
    let rolled: boolean;
    try {
      rolled = this.log.files.write(buf, this.log.config(), this.log.now());
    } catch (err) {
      try {
        this.log.files.undo(mark);
      } catch (undoErr) {
        // The files could not be cut back: only a reopen (which recovers) can tell what
        // they hold.
        this.log.fail(undoErr);
        throw undoErr;
      }
      if (errnoOf(err) === undefined) {
        this.log.fail(err);
        throw err;
      }
      throw this.log.stall.enter(err, "an append", null);
    }
    // The sealed segments are flushed in the background whatever the policy (as Kafka
    // does), so the recovery point, and the checkpoint, move past them.
    if (rolled) this.log.commits.schedule().catch(() => {});
    return this.log.files.active.nextOffset;
  }

  /**
   * The first append after the backoff: does the writes opening or retention could not,
   * then lets the append try. Throws the stall's error while the backoff runs.
   */
  private retryWrites(): void {
    const owed = this.log.stall.checkRetry();
    if (owed === null) return;
    try {
      this.log.prepareWrites(owed);
    } catch (err) {
      if (errnoOf(err) === undefined) throw err;
      throw this.log.stall.enter(err, "writing the checkpoint", owed);
    }
    this.log.stall.owedDone();
  }
}
