import type { Logger } from "pino";
import type { TopicConfig } from "../topic-config.js";
import { LogCleaner } from "./log-cleaner.js";
import type { LogSegment } from "./log-segment.js";

/**
 * Which of a partition's segments a compaction run takes, and whether a run is due: the
 * sealed segments from the start that are flushed (below `limit`) and older than
 * min.compaction.lag.ms; a run is skipped when nothing new was sealed and no kept
 * tombstone has expired since the last one. Logs what a run removed.
 */
export class CompactionSchedule {
  private compactedUpTo = -1;
  private compactAgainAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly dir: string,
    private readonly name: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Compacts in place (`segments` gets the cleaned ones) and returns the records removed.
   * `limit`: no segment reaching it is touched (the last stable offset, the recovery
   * point). `aborted` tells the batches of aborted transactions (kept whole).
   */
  run(
    segments: LogSegment[],
    limit: number,
    config: TopicConfig,
    now: number,
    aborted?: (producerId: number, offset: number) => boolean,
  ): number {
    const lagHorizon = now - config.minCompactionLagMs;
    let n = 0;
    while (n < segments.length - 1) {
      const segment = segments[n]!;
      if (!segment.sealed || segment.nextOffset > limit || segment.maxTimestamp > lagHorizon) break;
      n++;
    }
    if (n === 0) return 0;
    const end = segments[n - 1]!.nextOffset;
    if (end === this.compactedUpTo && now < this.compactAgainAt) return 0;
    const input = segments.slice(0, n);
    const result = new LogCleaner(this.dir, config, aborted).clean(input, now);
    segments.splice(0, n, ...result.segments);
    this.compactedUpTo = end;
    this.compactAgainAt = result.nextTombstoneExpiry;
    if (result.recordsRemoved > 0) {
      const superseded = result.recordsRemoved - result.tombstonesRemoved;
      this.logger.info(
        {
          event: "compaction-removed",
          segments: n,
          fromOffset: input[0]!.baseOffset,
          toOffset: end,
          records: result.recordsRemoved,
          superseded,
          tombstones: result.tombstonesRemoved,
        },
        `compacted ${n} segment(s) of ${this.name}, offsets ${input[0]!.baseOffset}..${end - 1}: removed ${superseded} record(s) superseded by a newer record of the same key and ${result.tombstonesRemoved} tombstone(s) older than delete.retention.ms=${config.deleteRetentionMs}`,
      );
    }
    return result.recordsRemoved;
  }
}
