import type { MessageToProduce } from "@platformatic/kafka";
import {
  partitionForKey,
  type ProducerRecord,
  type StickyPartitioner,
  UnknownTopicError,
} from "@tributary/log";
import type { TopicInfo } from "./kafka-cluster.js";

/**
 * One send's records as the Kafka client's messages. The partition is chosen here, not by
 * the client: an explicit one checked against the partition count (the client would
 * silently wrap it), else murmur2(key) with @tributary/log's partitionForKey, else the
 * sticky partition of this send, so a record lands where Kafka's Java producer and the
 * embedded log put it. Records without a timestamp get `now`.
 */
export function kafkaMessages(
  topic: string,
  info: TopicInfo,
  records: readonly ProducerRecord[],
  sticky: StickyPartitioner,
  now = BigInt(Date.now()),
): MessageToProduce[] {
  const n = info.partitions;
  const messages: MessageToProduce[] = new Array(records.length);
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
    const message: MessageToProduce = {
      topic: info.wireName,
      partition,
      // The Kafka client writes undefined as a null key/value on the wire.
      key: r.key ?? undefined,
      value: r.value ?? undefined,
      timestamp: r.timestamp === undefined ? now : BigInt(r.timestamp),
    };
    if (r.headers !== undefined) {
      const headers = new Map<Buffer, Buffer>();
      for (const [k, v] of Object.entries(r.headers)) {
        headers.set(Buffer.from(k), typeof v === "string" ? Buffer.from(v) : v);
      }
      message.headers = headers;
    }
    messages[i] = message;
  }
  sticky.nextBatch();
  return messages;
}
