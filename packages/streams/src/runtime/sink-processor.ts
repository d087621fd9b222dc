import type { ProducerRecord } from "@tributary/log";
import type { Serde } from "../serdes.js";
import type { Processor } from "./processor.js";
import type { RecordCollector } from "./record-collector.js";
import type { StreamRecord } from "./stream-record.js";

/** Serializes records and hands them to the collector, which partitions them by key. */
export class SinkProcessor implements Processor<unknown, unknown, never, never> {
  constructor(
    private readonly topic: string,
    private readonly keySerde: Serde<unknown>,
    private readonly valueSerde: Serde<unknown>,
    private readonly collector: RecordCollector,
  ) {
    this.serialized = collector.sendSerialized !== undefined;
  }

  /** The collector takes a record's parts (and writes them into a batch): no object per output. */
  private readonly serialized: boolean;

  process(record: StreamRecord<unknown, unknown>): void {
    const key = record.key === null ? null : this.keySerde.serialize(record.key);
    const value = record.value === null ? null : this.valueSerde.serialize(record.value);
    if (this.serialized) {
      this.collector.sendSerialized!(this.topic, key, value, record.timestamp, record.headers);
      return;
    }
    // Bytes that serialize to themselves (the bytes serde): the record already is the
    // ProducerRecord, so none is allocated per output. Records are not changed once
    // forwarded (processor.ts); one carrying a `partition` field of its own is copied, so
    // the producer partitions it by key as any other.
    if (
      key === record.key &&
      value === record.value &&
      (record as ProducerRecord).partition === undefined
    ) {
      this.collector.send(this.topic, record as ProducerRecord);
      return;
    }
    this.collector.send(this.topic, {
      key,
      value,
      timestamp: record.timestamp,
      headers: record.headers,
    });
  }
}
