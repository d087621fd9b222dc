import type { Logger } from "pino";
import type { TopicConfig } from "../topic-config.js";
import type { PartitionSegments } from "./partition-segments.js";
import {
  describeRetentionDeletions,
  logRetentionDeletions,
  type RetentionDeletion,
  retentionLimitsExceeded,
} from "./retention-deletion.js";

/**
 * Time and size retention of one partition: deletes its oldest whole segments past
 * retention.ms or retention.bytes (see retentionLimitsExceeded), logs what went and keeps
 * the last deletion, so describe can say why the partition's history starts where it does.
 *
 * Retention never deletes a segment holding an offset at or past `stableOffset`, the
 * partition's last stable offset: the high watermark, or the first offset of the oldest
 * transaction still open. Kafka bounds deletion by the high watermark only, and lets the
 * log start offset pass an open transaction's first batches; a commit after that would
 * show read_committed readers only the transaction's tail (and, here, a reader stopped at
 * an LSO below the log start would wait for the transaction timeout). Holding the open
 * transaction's segments instead keeps it whole; the transaction timeout bounds how long
 * a hung one can hold retention back.
 */
export class PartitionRetention {
  private last: RetentionDeletion | null = null;

  constructor(
    private readonly name: string,
    private readonly logger: Logger,
  ) {}

  /** The last deletion since the log opened; null if none. */
  get lastDeletion(): RetentionDeletion | null {
    return this.last;
  }

  /**
   * Deletes the segments retention takes now from `files`, oldest first, and returns how
   * many went. When all go (the active one too), a new segment first takes the appends from
   * the log end, and `rolled` is called so the caller schedules its flush.
   */
  apply(
    files: PartitionSegments,
    config: TopicConfig,
    stableOffset: number,
    now: number,
    rolled: () => void,
  ): number {
    const sizeBefore = files.sizeInBytes;
    const limits = retentionLimitsExceeded(files.list, stableOffset, config, now);
    if (limits.length > 0 && limits.length === files.list.length) {
      files.roll(config);
      rolled();
    }
    const deleted = files
      .deleteOldest(limits.length)
      .map((segment, i) => ({ segment, limit: limits[i]! }));
    if (deleted.length > 0) {
      const deletions = describeRetentionDeletions(deleted, config, now, sizeBefore);
      this.last = logRetentionDeletions(deletions, this.name, this.logger) ?? this.last;
    }
    return deleted.length;
  }
}
