/**
 * Records as the rest of the system sees them. Keys and values are bytes; typing them is
 * the serdes' job (see serde.ts). A null value is a tombstone: under compaction it deletes
 * its key.
 */

/** Header values are bytes on disk; a string is encoded as UTF-8 when written. */
export type RecordHeaders = Readonly<Record<string, Buffer | string>>;

/** What a producer hands to the log. */
export interface ProducerRecord {
  key?: Buffer | null;
  value: Buffer | null;
  /** Event time in ms since the epoch; the producer's clock at encode time when absent. */
  timestamp?: number;
  headers?: RecordHeaders;
  /** An explicit partition; otherwise the partitioner chooses from the key. */
  partition?: number;
}

/** A record read back from the log. Key, value and header buffers may share memory with
 * the fetched batch: copy them if you keep them beyond the batch. */
export interface LogRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

/**
 * The headers of every record that has none, as decoded (frozen, shared: decoding
 * allocates no object for them). Encoders treat it as no headers without looking inside,
 * so a record passed on with the headers it was read with costs nothing for them.
 */
export const NO_HEADERS: Record<string, Buffer> = Object.freeze({}) as Record<string, Buffer>;

/** Where a record lives. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

export function topicPartitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}
