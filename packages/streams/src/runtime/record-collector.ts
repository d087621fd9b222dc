import type { ProducerRecord, RecordHeaders } from "@tributary/log";

/**
 * Where a task's sinks put their output (user topics, repartition topics, the dead-letter
 * topic). Synchronous: the runtime buffers them and sends after each poll's records
 * (acknowledged before each commit); the test driver appends to its in-memory topics. A
 * record without a partition is partitioned by its key.
 */
export interface RecordCollector {
  send(topic: string, record: ProducerRecord): void;
  /**
   * Optional: `send` of a record partitioned by its key, from its parts, for a collector
   * that writes them straight into a batch (the worker's): a sink then allocates no
   * record object per output.
   */
  sendSerialized?(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
    headers: RecordHeaders,
  ): void;
}
