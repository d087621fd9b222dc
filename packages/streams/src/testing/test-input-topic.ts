import type { RecordHeaders } from "@tributary/log";
import type { KeyValue } from "../runtime/stream-record.js";
import type { Serde } from "../serdes.js";
import type { TopologyTestDriver } from "./topology-test-driver.js";

export interface TestInputTopicOptions {
  /** Timestamp of the first record piped without one (default: the driver's initialTime). */
  startTimestamp?: number;
  /** Added to the topic's time after each record piped without a timestamp. */
  autoAdvanceMs?: number;
}

export interface TestInputRecord<K, V> {
  key: K;
  value: V;
  timestamp?: number;
  headers?: RecordHeaders;
}

/** Pipes typed records into one topic of a TopologyTestDriver (Kafka's TestInputTopic). */
export class TestInputTopic<K, V> {
  private time: number;
  private readonly autoAdvanceMs: number;

  /** @internal */
  constructor(
    private readonly driver: TopologyTestDriver,
    readonly topic: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    options: Required<TestInputTopicOptions>,
  ) {
    this.time = options.startTimestamp;
    this.autoAdvanceMs = options.autoAdvanceMs;
  }

  /** Pipes one record; without a timestamp it gets the topic's time, which then
   * auto-advances. Processing (and any repartition hop) is complete on return. */
  pipeInput(key: K, value: V, timestamp?: number, headers?: RecordHeaders): void {
    let ts = timestamp;
    if (ts === undefined) {
      ts = this.time;
      this.time += this.autoAdvanceMs;
    }
    this.driver.pipe(this.topic, {
      key: key === null || key === undefined ? null : this.keySerde.serialize(key),
      value: value === null || value === undefined ? null : this.valueSerde.serialize(value),
      timestamp: ts,
      headers: headers ?? {},
    });
  }

  /** Pipes raw bytes as they would sit in the log (for poison-record tests). */
  pipeRaw(key: Buffer | null, value: Buffer | null, timestamp?: number): void {
    this.driver.pipe(this.topic, { key, value, timestamp: timestamp ?? this.time });
  }

  pipeKeyValueList(pairs: Iterable<KeyValue<K, V>>): void {
    for (const [k, v] of pairs) this.pipeInput(k, v);
  }

  pipeRecordList(records: Iterable<TestInputRecord<K, V>>): void {
    for (const r of records) this.pipeInput(r.key, r.value, r.timestamp, r.headers);
  }

  /** Moves this topic's time forward. */
  advanceTime(ms: number): void {
    this.time += ms;
  }

  currentTime(): number {
    return this.time;
  }
}
