import { batchEndOffset, LOG_OVERHEAD } from "../record-batch.js";
import type { TopicConfig } from "../topic-config.js";
import { syncDirectoryAsync } from "./durable-file.js";
import { LogSegment, type SegmentMark } from "./log-segment.js";
import { MAX_RELATIVE_OFFSET } from "./offset-index.js";
import { segmentIndexFor } from "./segment-search.js";

/** Where an append began, to take the segments back there if it fails (see `undo`). */
export interface SegmentsMark {
  readonly activeIndex: number;
  readonly active: SegmentMark;
}

/**
 * The segments of one partition directory, oldest first, the last (the active one) taking
 * appends: how stamped batches are spread over them (rolling by size, age and relative
 * offset), how a failed append is undone, and which files the next group commit syncs.
 * PartitionLog's offsets, flushes and stalls are kept apart from this, its file layout.
 */
export class PartitionSegments {
  /** A segment was created or deleted since the directory was last fsynced. */
  directoryDirty = false;

  constructor(
    readonly dir: string,
    readonly list: LogSegment[],
  ) {}

  get active(): LogSegment {
    return this.list[this.list.length - 1]!;
  }

  get sizeInBytes(): number {
    let size = 0;
    for (const s of this.list) size += s.size;
    return size;
  }

  /** Index of the segment holding `offset` (see segmentIndexFor). */
  indexFor(offset: number): number {
    return segmentIndexFor(this.list, offset);
  }

  mark(): SegmentsMark {
    return { activeIndex: this.list.length - 1, active: this.active.mark() };
  }

  /**
   * Writes stamped batches, rolling segments as needed; returns whether a segment was
   * rolled. A failure leaves what it wrote in place: the caller `undo`es it.
   */
  write(buf: Buffer, config: TopicConfig, now: number): boolean {
    const segmentBytes = config.segmentBytes;
    let rolled = false;
    let start = 0;
    while (start < buf.length) {
      const firstSize = LOG_OVERHEAD + buf.readInt32BE(start + 8);
      if (this.shouldRoll(firstSize, batchEndOffset(buf, start), now, config)) {
        this.roll(config);
        rolled = true;
      }
      const segment = this.active;
      let end = start;
      let size = segment.size;
      while (end < buf.length) {
        const batchSize = LOG_OVERHEAD + buf.readInt32BE(end + 8);
        if (end > start && size + batchSize > segmentBytes) break;
        if (
          end > start &&
          batchEndOffset(buf, end) - 1 - segment.baseOffset > MAX_RELATIVE_OFFSET
        ) {
          break;
        }
        size += batchSize;
        end += batchSize;
      }
      segment.append(buf, start, end, now);
      start = end;
    }
    return rolled;
  }

  /**
   * Takes the log back to where an append began: the segments it rolled to are deleted
   * and the segment that was active is cut back to the mark (see LogSegment.rollbackTo). No
   * flush can have covered the undone bytes: a flush only starts between appends.
   */
  undo(mark: SegmentsMark): void {
    while (this.list.length - 1 > mark.activeIndex) this.list.pop()!.delete();
    this.active.rollbackTo(mark.active);
  }

  private shouldRoll(
    batchSize: number,
    batchEnd: number,
    now: number,
    config: TopicConfig,
  ): boolean {
    const segment = this.active;
    if (segment.isEmpty) return false;
    return (
      segment.size + batchSize > config.segmentBytes ||
      (segment.rollTimestamp !== null && now - segment.rollTimestamp > config.segmentMs) ||
      batchEnd - 1 - segment.baseOffset > MAX_RELATIVE_OFFSET
    );
  }

  /**
   * Seals the active segment and starts a new one at the log end offset; the caller
   * schedules the flush. A failure (no descriptor for the new file, no space for the old
   * one's indexes) leaves the old segment active, as if nothing happened.
   */
  roll(config: TopicConfig): void {
    const old = this.active;
    const next = LogSegment.create(this.dir, old.nextOffset, config.indexIntervalBytes);
    try {
      old.seal();
    } catch (err) {
      next.delete();
      throw err;
    }
    this.list.push(next);
    this.directoryDirty = true;
  }

  /** Deletes the oldest `count` segments, returning them (oldest first). */
  deleteOldest(count: number): LogSegment[] {
    const deleted = this.list.splice(0, count);
    for (const segment of deleted) segment.delete();
    if (deleted.length > 0) this.directoryDirty = true;
    return deleted;
  }

  /**
   * A group commit round's syncs: every segment with unflushed bytes, and the directory if
   * a segment came or went; `undo` marks the directory dirty again when the round fails.
   */
  flushWork(): { work: Promise<void>[]; undo: () => void } {
    const work: Promise<void>[] = [];
    for (const segment of this.list) {
      if (segment.needsFlush) work.push(segment.flushAsync());
    }
    const syncsDirectory = this.directoryDirty;
    if (syncsDirectory) {
      this.directoryDirty = false;
      work.push(syncDirectoryAsync(this.dir));
    }
    return {
      work,
      undo: () => {
        if (syncsDirectory) this.directoryDirty = true;
      },
    };
  }
}
