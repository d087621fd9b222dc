import {
  type Consumer,
  describePositionReset,
  type PartitionOffset,
  type PositionReset,
  type TopicPartition,
  topicPartitionKey,
} from "@tributary/log";
import type { WarnFields } from "./worker-options.js";

/**
 * Input a worker never read because retention deleted it first (Kafka Streams skips it
 * with a log line; here it is counted and reaches the user). RetentionLosses is
 * responsible for:
 * - counting, per input partition, the offsets each position reset skipped (the consumer's
 *   onPositionReset);
 * - warning once per reset, naming the partition, the offsets and what to do;
 * - the lag of a reset partition: the reset returns no records, so the lag the worker
 *   computes from fetched batches would keep the value from before the reset (forever, if
 *   retention left the partition empty); `refreshLag` measures it anew.
 */
export class RetentionLosses {
  /** Offsets skipped, by topicPartitionKey. */
  private readonly skipped = new Map<string, number>();
  /** Partitions reset since the last refreshLag. */
  private readonly reset = new Map<string, TopicPartition>();
  total = 0;

  constructor(private readonly warn?: (message: string, fields?: WarnFields) => void) {}

  readonly onPositionReset = (r: PositionReset): void => {
    const key = topicPartitionKey(r.topic, r.partition);
    this.reset.set(key, { topic: r.topic, partition: r.partition });
    const { skipped, message } = describePositionReset(r);
    if (skipped > 0) {
      this.skipped.set(key, (this.skipped.get(key) ?? 0) + skipped);
      this.total += skipped;
    }
    this.warn?.(message, {
      event: skipped > 0 ? "records-lost-to-retention" : "position-past-log-end",
      topic: r.topic,
      partition: r.partition,
      from: r.from,
      to: r.to,
      skipped,
    });
  };

  /** Offsets skipped per input partition (`<topic>-<partition>`), since the worker started. */
  byPartition(): Record<string, number> {
    return Object.fromEntries(this.skipped);
  }

  /** Sets the lag of the partitions reset since the last call from the log's end now. */
  async refreshLag(
    lag: Map<string, number>,
    consumer: Consumer,
    endOffsets: (topic: string) => Promise<PartitionOffset[]>,
  ): Promise<void> {
    if (this.reset.size === 0) return;
    const partitions = [...this.reset.values()];
    this.reset.clear();
    for (const topic of new Set(partitions.map((tp) => tp.topic))) {
      const ends = await endOffsets(topic);
      for (const tp of partitions) {
        if (tp.topic !== topic) continue;
        const position = consumer.position(tp);
        const end = ends.find((e) => e.partition === tp.partition)?.offset;
        // A partition revoked meanwhile has no position, and no lag of ours.
        if (position === undefined || end === undefined) continue;
        lag.set(topicPartitionKey(tp.topic, tp.partition), Math.max(0, end - position));
      }
    }
  }
}
