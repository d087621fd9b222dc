import type { RecordHeaders } from "@tributary/log";

/** A typed record as processors see it. A null value is a tombstone. */
export interface StreamRecord<K, V> {
  key: K;
  value: V;
  /** Event time in ms since the epoch. */
  timestamp: number;
  headers: RecordHeaders;
}

/** A key and a value, as mappers return them: `[key, value]`. */
export type KeyValue<K, V> = readonly [K, V];

/** Where the record being processed came from (null inside a punctuation). */
export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
}

/** The log's: records passed on with no headers are encoded without looking inside. */
export { NO_HEADERS } from "@tributary/log";
