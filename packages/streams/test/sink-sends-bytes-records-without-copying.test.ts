import { NO_HEADERS, type ProducerRecord, Serdes, type Serde } from "@tributary/log";
import { describe, expect, it } from "vitest";
import type { RecordCollector } from "../src/runtime/record-collector.js";
import { SinkProcessor } from "../src/runtime/sink-processor.js";
import type { StreamRecord } from "../src/runtime/stream-record.js";

/** Keeps what the sink hands over, in order (the collector interface, nothing faked). */
class ListCollector implements RecordCollector {
  readonly sent: { topic: string; record: ProducerRecord }[] = [];
  send(topic: string, record: ProducerRecord): void {
    this.sent.push({ topic, record });
  }
}

const bytes = Serdes.bytes() as Serde<unknown>;

function sink(keySerde: Serde<unknown>, valueSerde: Serde<unknown>) {
  const collector = new ListCollector();
  return { collector, sink: new SinkProcessor("out", keySerde, valueSerde, collector) };
}

describe("a sink", () => {
  it("hands a record of bytes serdes to the collector as it is, with no copy", () => {
    const { collector, sink: s } = sink(bytes, bytes);
    const records: StreamRecord<unknown, unknown>[] = [
      { key: Buffer.from("k"), value: Buffer.from("v"), timestamp: 7, headers: NO_HEADERS },
      { key: null, value: Buffer.from("keyless"), timestamp: 8, headers: { h: "x" } },
      { key: Buffer.from("gone"), value: null, timestamp: 9, headers: NO_HEADERS },
    ];
    for (const r of records) s.process(r);
    expect(collector.sent.map((x) => x.topic)).toEqual(["out", "out", "out"]);
    for (let i = 0; i < records.length; i++) expect(collector.sent[i]!.record).toBe(records[i]);
  });

  it("copies a record that carries a partition field, so the producer partitions it by key", () => {
    const { collector, sink: s } = sink(bytes, bytes);
    const r = {
      key: Buffer.from("k"),
      value: Buffer.from("v"),
      timestamp: 7,
      headers: NO_HEADERS,
      partition: 3,
    };
    s.process(r);
    const sent = collector.sent[0]!.record;
    expect(sent).not.toBe(r);
    expect(sent.partition).toBeUndefined();
    expect(sent).toEqual({ key: r.key, value: r.value, timestamp: 7, headers: NO_HEADERS });
  });

  it("sends the serialized bytes of typed records", () => {
    const { collector, sink: s } = sink(
      Serdes.string() as Serde<unknown>,
      Serdes.json() as Serde<unknown>,
    );
    s.process({ key: "k", value: { n: 1 }, timestamp: 5, headers: NO_HEADERS });
    const sent = collector.sent[0]!.record;
    expect(sent.key!.toString()).toBe("k");
    expect(JSON.parse(sent.value!.toString())).toEqual({ n: 1 });
    expect(sent.timestamp).toBe(5);
  });
});
