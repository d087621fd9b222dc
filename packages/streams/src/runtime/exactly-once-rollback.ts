import { type Admin, type Consumer, type TopicPartition, topicPartitionKey } from "@tributary/log";
import type { ExactlyOnceCommitter } from "./exactly-once-commit.js";
import type { ProducingRecordCollector } from "./producing-record-collector.js";
import type { TaskManager } from "./task-manager.js";

export interface RollbackParts {
  committer: ExactlyOnceCommitter;
  collector: ProducingRecordCollector;
  manager: TaskManager;
  consumer: Consumer;
  admin: Admin;
}

/**
 * Takes a worker's tasks back to their last exactly-once commit (Kafka Streams' handling of
 * a TaskCorruptedException under EOS-v2, where one transaction spans all of a worker's
 * tasks, without its wipe of the stores):
 *   1. records buffered for the open transaction are dropped, its sends in flight awaited;
 *   2. the transaction is aborted (read_committed readers never see it);
 *   3. every task is closed without committing: record caches, write-back caches and the
 *      stores' uncommitted changes are dropped; each RocksDB store keeps its last batch,
 *      written after the last committed transaction, with its changelog offset;
 *   4. the inputs still assigned are sought back to the group's committed offsets;
 *   5. their tasks are created again: each store replays the committed changelog tail
 *      from its stored offset (normally nothing), read_committed.
 Steps 4 and 5 cover the consumer's assignment but `gone` (partitions lost); with
 * `gone` null they are left to the group: the consumer is rejoining (fenced by the
 * generation), and the new assignment fetches the committed offsets.
 */
export async function rollBackToLastCommit(
  parts: RollbackParts,
  cause: unknown,
  gone: readonly TopicPartition[] | null,
): Promise<void> {
  const { committer, collector, manager, consumer } = parts;
  await collector.discard();
  await committer.abort(cause);
  await manager.closeAll();
  if (gone === null) return;
  const lost = new Set(gone.map((tp) => topicPartitionKey(tp.topic, tp.partition)));
  const assigned = consumer
    .assignment()
    .filter((tp) => !lost.has(topicPartitionKey(tp.topic, tp.partition)));
  await rewindToCommitted(consumer, parts.admin, assigned);
  await manager.onAssigned(assigned);
}

/**
 * Moves the consumer of these partitions back to the group's committed offsets (the
 * earliest offset where the group has none, as the worker's autoOffsetReset).
 */
export async function rewindToCommitted(
  consumer: Consumer,
  admin: Admin,
  partitions: readonly TopicPartition[],
): Promise<void> {
  if (partitions.length === 0) return;
  const key = topicPartitionKey;
  const offsets = new Map<string, number>();
  for (const topic of new Set(partitions.map((tp) => tp.topic))) {
    for (const o of await admin.listOffsets(topic, "earliest")) {
      offsets.set(key(topic, o.partition), o.offset);
    }
  }
  for (const c of await consumer.committed([...partitions])) {
    if (c.offset >= 0) offsets.set(key(c.topic, c.partition), c.offset);
  }
  for (const tp of partitions) {
    const offset = offsets.get(key(tp.topic, tp.partition));
    if (offset !== undefined) consumer.seek(tp, offset);
  }
}
