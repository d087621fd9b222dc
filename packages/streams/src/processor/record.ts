import type { RecordHeaders } from "@tributary/log";
import type { StreamRecord } from "../runtime/stream-record.js";

/**
 * A record as a custom processor receives and forwards it (Kafka's `api.Record`):
 * immutable; `withKey`, `withValue`, `withTimestamp` and `withHeaders` return a copy with
 * one field changed, so forwarding a changed value keeps the input's time and headers.
 * A null value is a tombstone.
 */
export class Record<K, V> implements StreamRecord<K, V> {
  constructor(
    readonly key: K,
    readonly value: V,
    /** Event time in ms since the epoch. */
    readonly timestamp: number,
    readonly headers: RecordHeaders = {},
  ) {
    if (!(Number.isFinite(timestamp) && timestamp >= 0)) {
      throw new RangeError(
        `a record's timestamp must be ms since the epoch (>= 0), got ${timestamp}`,
      );
    }
  }

  /** The same record, typed as a Record (no copy when it already is one). */
  static from<K, V>(r: StreamRecord<K, V>): Record<K, V> {
    return r instanceof Record ? r : new Record(r.key, r.value, r.timestamp, r.headers);
  }

  withKey<K2>(key: K2): Record<K2, V> {
    return new Record(key, this.value, this.timestamp, this.headers);
  }

  withValue<V2>(value: V2): Record<K, V2> {
    return new Record(this.key, value, this.timestamp, this.headers);
  }

  withTimestamp(timestamp: number): Record<K, V> {
    return new Record(this.key, this.value, timestamp, this.headers);
  }

  withHeaders(headers: RecordHeaders): Record<K, V> {
    return new Record(this.key, this.value, this.timestamp, headers);
  }
}
