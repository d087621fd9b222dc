import type { RecordHeaders } from "@tributary/log";

/** A record read from a test output topic. */
export interface TestRecord<K, V> {
  key: K;
  value: V;
  timestamp: number;
  headers: RecordHeaders;
  offset: number;
}
