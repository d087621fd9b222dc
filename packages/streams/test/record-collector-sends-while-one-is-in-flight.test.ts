import fs from "node:fs";
import { type LogClient, openEmbeddedLog, type Producer, Serdes } from "@tributary/log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProducingRecordCollector } from "../src/runtime/producing-record-collector.js";
import { eventually, readTopic, tempDir } from "./runtime-helpers.js";

type Batches = readonly { partition: number; batch: Buffer }[];

/**
 * The embedded log's own producer with its acknowledgements held back until `release()`
 * (a stand-in for a slow round trip: the batches reach the log at once, only the ack to
 * the collector waits). `pipelines` false leaves out `dispatchEncoded`, as a producer
 * that cannot queue a send before acknowledging it (Kafka's).
 */
function holdingAcks(producer: Producer, pipelines: boolean) {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const c = {
    encodedSends: 0,
    release: () => release(),
    send: producer.send.bind(producer),
    sendEncoded: async (topic: string, batches: Batches) => {
      c.encodedSends++;
      const acks = await producer.sendEncoded!(topic, batches);
      await held;
      return acks;
    },
    close: () => producer.close(),
  };
  if (!pipelines) return c;
  return Object.assign(c, {
    dispatchEncoded: async (topic: string, batches: Batches) => {
      c.encodedSends++;
      const { acks } = await producer.dispatchEncoded!(topic, batches);
      return { acks: held.then(() => acks) };
    },
  });
}

const KEYS = 20;
const str = Serdes.string();
/** Record i: key `k<i % KEYS>`, value `i`. */
const recordOf = (i: number) => ({
  key: Buffer.from(`k${i % KEYS}`),
  value: Buffer.from(String(i)),
  timestamp: 1_796_000_000_000 + i,
});

/** Per key, the values as read back, in log order (one key lives in one partition). */
async function valuesByKey(log: LogClient, topic: string): Promise<Map<string, number[]>> {
  const byKey = new Map<string, number[]>();
  for (const r of (await readTopic(log, topic, str, str)).records) {
    if (!byKey.has(r.key)) byKey.set(r.key, []);
    byKey.get(r.key)!.push(Number(r.value));
  }
  return byKey;
}

/** Per key, records 0..n-1 in the order they were handed in. */
function expectedByKey(n: number): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const k = `k${i % KEYS}`;
    if (!byKey.has(k)) byKey.set(k, []);
    byKey.get(k)!.push(i);
  }
  return byKey;
}

async function recordsInLog(log: LogClient, topic: string): Promise<number> {
  return (await log.admin.listOffsets(topic, "latest")).reduce((a, o) => a + o.offset, 0);
}

/**
 * A collector on `producer` with `first` sent and acknowledged, once it knows the topic's
 * partition count (from then on it encodes batches: the path with sends in flight).
 */
async function collectorAfter(
  producer: Producer,
  topic: string,
  first: { key: Buffer; value: Buffer; timestamp: number },
): Promise<ProducingRecordCollector> {
  let known: () => void = () => {};
  const counted = new Promise<void>((resolve) => {
    known = resolve;
  });
  const collector = new ProducingRecordCollector(producer, async (t) => {
    const n = (await log.admin.describeTopic(t)).partitions.length;
    known();
    return n;
  });
  collector.send(topic, first);
  await counted;
  await collector.flush();
  expect(collector.sent).toBe(1);
  return collector;
}

let log: LogClient;
let dir: string;
beforeEach(async () => {
  dir = tempDir("collector-in-flight");
  log = await openEmbeddedLog(dir);
  await log.admin.createTopic("out", { partitions: 4 });
});
afterEach(async () => {
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Issue #14: with one send per topic in flight, an output processed while the previous
 * send's ack was outstanding waited up to a whole produce round trip. With a producer
 * that queues a send before acknowledging it, the collector keeps two in flight; each
 * partition still gets its records in the order handed in, and flush (what a commit
 * waits for before it writes input offsets) still resolves only once all are acknowledged.
 */
describe("the record collector's sends in flight", () => {
  it("hands a topic's next send over while one is unacknowledged, in order per partition; flush waits for every ack", {
    timeout: 120_000,
  }, async () => {
    const producer = holdingAcks(log.producer(), true);
    const collector = await collectorAfter(producer, "out", recordOf(0));

    const round = (from: number, to: number) => {
      for (let i = from; i < to; i++) collector.send("out", recordOf(i));
      collector.sendBuffered();
    };
    round(1, 200);
    await eventually(
      async () => (producer.encodedSends === 1 ? true : undefined),
      "the first send handed over",
      60_000,
    );
    round(200, 400);
    await eventually(
      async () => (producer.encodedSends === 2 ? true : undefined),
      "the second send handed over while the first is unacknowledged",
      60_000,
    );
    round(400, 600); // two in flight: this one waits in the collector
    expect(producer.encodedSends).toBe(2);

    let flushed = false;
    const flush = collector.flush().then(() => {
      flushed = true;
    });
    // flush hands the rest over at once; all of it reaches the log, none is acknowledged
    await eventually(
      async () => ((await recordsInLog(log, "out")) === 600 ? true : undefined),
      "all 600 records in the log",
      60_000,
    );
    expect(producer.encodedSends).toBe(3);
    expect(flushed).toBe(false);
    expect(collector.sent).toBe(1);

    producer.release();
    await flush;
    expect(collector.sent).toBe(600);
    expect(await valuesByKey(log, "out")).toEqual(expectedByKey(600));
  });

  it("keeps one send in flight with a producer that cannot queue one before its ack", {
    timeout: 120_000,
  }, async () => {
    const producer = holdingAcks(log.producer(), false);
    const collector = await collectorAfter(producer, "out", recordOf(0));
    for (let i = 1; i < 200; i++) collector.send("out", recordOf(i));
    collector.sendBuffered();
    await eventually(
      async () => ((await recordsInLog(log, "out")) === 200 ? true : undefined),
      "the first send in the log",
      60_000,
    );
    for (let i = 200; i < 400; i++) collector.send("out", recordOf(i));
    collector.sendBuffered();
    expect(producer.encodedSends).toBe(1);
    expect(await recordsInLog(log, "out")).toBe(200);

    producer.release();
    await collector.flush();
    expect(producer.encodedSends).toBe(2);
    expect(collector.sent).toBe(400);
    expect(await valuesByKey(log, "out")).toEqual(expectedByKey(400));
  });

  it("fails flush when the log refuses a send that has another in flight behind it", {
    timeout: 120_000,
  }, async () => {
    await log.admin.createTopic("small", { partitions: 1, config: { maxMessageBytes: 64 * 1024 } });
    const collector = await collectorAfter(log.producer(), "small", {
      key: Buffer.from("a"),
      value: Buffer.from("ok"),
      timestamp: 1,
    });
    const huge = Buffer.alloc(100 * 1024, 0x62);
    collector.send("small", { key: Buffer.from("a"), value: huge, timestamp: 2 });
    collector.sendBuffered();
    collector.send("small", { key: Buffer.from("a"), value: Buffer.from("after"), timestamp: 3 });
    collector.sendBuffered();
    await expect(collector.flush()).rejects.toThrow(/small/);
    expect(collector.sent).toBeLessThan(3);
    // what the log holds after the first record is never the refused one
    const values = (await readTopic(log, "small", str, str)).records.map((r) => r.value);
    expect(values[0]).toBe("ok");
    expect(values).not.toContain(huge.toString());
  });
});
