import type { ProducerRecord } from "@tributary/log";

/**
 * Where a task's sinks put their output (user topics, repartition topics, the dead-letter
 * topic). Synchronous: the runtime buffers them and sends after each poll's records
 * (acknowledged before each commit); the test driver appends to its in-memory topics. A
 * record without a partition is partitioned by its key.
 */
export interface RecordCollector {
  send(topic: string, record: ProducerRecord): void;
}
