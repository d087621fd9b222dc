import type { Serde } from "../serdes.js";
import type { Processor } from "./processor.js";
import type { RecordCollector } from "./record-collector.js";
import type { StreamRecord } from "./stream-record.js";

/** Serializes records and hands them to the collector; the producer partitions by key. */
export class SinkProcessor implements Processor<unknown, unknown, never, never> {
  constructor(
    private readonly topic: string,
    private readonly keySerde: Serde<unknown>,
    private readonly valueSerde: Serde<unknown>,
    private readonly collector: RecordCollector,
  ) {}

  process(record: StreamRecord<unknown, unknown>): void {
    this.collector.send(this.topic, {
      key: record.key === null ? null : this.keySerde.serialize(record.key),
      value: record.value === null ? null : this.valueSerde.serialize(record.value),
      timestamp: record.timestamp,
      headers: record.headers,
    });
  }
}
