import type { LogRecord } from "@tributary/log";
import { NoSuchRecordError } from "../errors.js";
import type { KeyValue } from "../runtime/stream-record.js";
import type { Serde } from "../serdes.js";
import type { TestRecord } from "./test-record.js";
import type { TopologyTestDriver } from "./topology-test-driver.js";

/** Reads typed records from one topic a TopologyTestDriver wrote (Kafka's
 * TestOutputTopic). Reading consumes: each record is read once. */
export class TestOutputTopic<K, V> {
  /** @internal */
  constructor(
    private readonly driver: TopologyTestDriver,
    readonly topic: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
  ) {}

  readRecord(): TestRecord<K, V> {
    const r = this.driver.readOutput(this.topic);
    if (r === undefined) throw new NoSuchRecordError(this.topic);
    return this.decode(r);
  }

  readKeyValue(): KeyValue<K, V> {
    const r = this.readRecord();
    return [r.key, r.value];
  }

  readValue(): V {
    return this.readRecord().value;
  }

  readRecordsToList(): TestRecord<K, V>[] {
    const out: TestRecord<K, V>[] = [];
    while (!this.isEmpty()) out.push(this.readRecord());
    return out;
  }

  readKeyValuesToList(): KeyValue<K, V>[] {
    return this.readRecordsToList().map((r) => [r.key, r.value] as const);
  }

  readValuesToList(): V[] {
    return this.readRecordsToList().map((r) => r.value);
  }

  /** The last value per key; a null value (tombstone) removes the key. */
  readKeyValuesToMap(): Map<K, V> {
    const out = new Map<K, V>();
    for (const r of this.readRecordsToList()) {
      if (r.value === null) out.delete(r.key);
      else out.set(r.key, r.value);
    }
    return out;
  }

  isEmpty(): boolean {
    return this.driver.outputSize(this.topic) === 0;
  }

  getQueueSize(): number {
    return this.driver.outputSize(this.topic);
  }

  private decode(r: LogRecord): TestRecord<K, V> {
    return {
      key: r.key === null ? (null as K) : this.keySerde.deserialize(r.key),
      value: r.value === null ? (null as V) : this.valueSerde.deserialize(r.value),
      timestamp: r.timestamp,
      headers: r.headers,
      offset: r.offset,
    };
  }
}
