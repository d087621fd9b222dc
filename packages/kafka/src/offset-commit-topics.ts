import { type CommittedOffset, InvalidArgumentError } from "@tributary/log";
import type { KafkaCluster } from "./kafka-cluster.js";

/** One topic's partitions in an OffsetCommit or TxnOffsetCommit request. */
export interface OffsetCommitTopic {
  name: string;
  partitions: {
    partitionIndex: number;
    committedOffset: bigint;
    committedLeaderEpoch: number;
    committedMetadata: string | null;
  }[];
}

/**
 * Groups offsets by topic (wire names) as OffsetCommit and TxnOffsetCommit take them,
 * refusing an offset that is not an integer >= 0 before anything is sent.
 */
export function offsetCommitTopics(
  cluster: KafkaCluster,
  offsets: readonly CommittedOffset[],
): OffsetCommitTopic[] {
  const byTopic = new Map<string, OffsetCommitTopic>();
  for (const o of offsets) {
    if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
      throw new InvalidArgumentError(
        `commit ${o.topic}-${o.partition} at ${o.offset}: an offset is an integer >= 0`,
      );
    }
    const name = cluster.wire(o.topic);
    let topic = byTopic.get(name);
    if (topic === undefined) {
      topic = { name, partitions: [] };
      byTopic.set(name, topic);
    }
    topic.partitions.push({
      partitionIndex: o.partition,
      committedOffset: BigInt(o.offset),
      committedLeaderEpoch: -1,
      committedMetadata: o.metadata ?? null,
    });
  }
  return [...byTopic.values()];
}
