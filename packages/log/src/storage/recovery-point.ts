import type { PartitionCheckpoint } from "./partition-checkpoint.js";
import type { PartitionSegments } from "./partition-segments.js";

/**
 * A partition's recovery point, the offset below which every batch is flushed (recovery
 * after a crash re-verifies from the segment holding it), and whether a flush moved it far
 * enough to be worth a checkpoint write.
 */
export class RecoveryPoint {
  private offset: number;
  /** Base offset of the segment holding the recovery point last checkpointed. */
  private checkpointedSegmentBase: number;

  constructor(
    private readonly files: PartitionSegments,
    end: number,
  ) {
    this.offset = end;
    this.checkpointedSegmentBase = files.active.baseOffset;
  }

  get value(): number {
    return this.offset;
  }

  /** Moves the recovery point up to `target`, which a flush covered. */
  flushedTo(target: number): void {
    if (target > this.offset) this.offset = target;
  }

  /**
   * Whether the recovery point is in a segment after the one checkpointed: recovery
   * restarts at the segment holding it, so only a move into a later segment is worth a
   * checkpoint write.
   */
  get worthCheckpoint(): boolean {
    const segment = this.files.list[this.files.indexFor(this.offset)]!;
    return segment.baseOffset > this.checkpointedSegmentBase;
  }

  /** Everything up to `logEndOffset` is durable (a clean close). */
  closedAt(logEndOffset: number): void {
    this.offset = logEndOffset;
  }

  /** The checkpoint to write now. */
  checkpoint(logEndOffset: number, logStartOffset: number): PartitionCheckpoint {
    const recoveryPoint = Math.max(
      Math.min(this.offset, logEndOffset),
      this.files.list[0]!.baseOffset,
    );
    return { recoveryPoint, logStartOffset };
  }

  /** `checkpoint` was written. */
  written(checkpoint: PartitionCheckpoint): void {
    this.checkpointedSegmentBase =
      this.files.list[this.files.indexFor(checkpoint.recoveryPoint)]!.baseOffset;
  }
}
