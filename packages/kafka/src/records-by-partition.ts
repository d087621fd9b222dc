import {
  partitionForKey,
  type ProducerRecord,
  type StickyPartitioner,
  UnknownTopicError,
} from "@tributary/log";
import type { TopicInfo } from "./kafka-cluster.js";

/**
 * One send's records grouped by partition, in send order within each. The partition is
 * chosen here: an explicit one checked against the partition count, else murmur2(key) with
 * @tributary/log's partitionForKey, else the sticky partition of this send, so a record
 * lands where Kafka's Java producer and the embedded log put it.
 */
export function recordsByPartition(
  topic: string,
  info: TopicInfo,
  records: readonly ProducerRecord[],
  sticky: StickyPartitioner,
): Map<number, ProducerRecord[]> {
  const n = info.partitions;
  const out = new Map<number, ProducerRecord[]>();
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    let partition: number;
    if (r.partition !== undefined) {
      partition = r.partition;
      if (!Number.isInteger(partition) || partition < 0 || partition >= n) {
        throw new UnknownTopicError(topic, partition);
      }
    } else if (r.key !== undefined && r.key !== null) {
      partition = partitionForKey(r.key, n);
    } else {
      partition = sticky.partition(topic, n);
    }
    const list = out.get(partition);
    if (list === undefined) out.set(partition, [r]);
    else list.push(r);
  }
  sticky.nextBatch();
  return out;
}
