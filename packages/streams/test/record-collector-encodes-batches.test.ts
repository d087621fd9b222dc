import fs from "node:fs";
import {
  type LogClient,
  NO_HEADERS,
  openEmbeddedLog,
  type Producer,
  type ProducerRecord,
} from "@tributary/log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProducingRecordCollector } from "../src/runtime/producing-record-collector.js";
import { seeded } from "./helpers.js";
import { readTopicRecords, tempDir } from "./runtime-helpers.js";

interface Read {
  partition: number;
  key: string | null;
  value: string | null;
  timestamp: number;
  headers: Record<string, string>;
}

/** Every record of the topic, by partition, as read back from the log. */
async function readAll(
  log: LogClient,
  topic: string,
  isolation: "read_committed" | "read_uncommitted" = "read_uncommitted",
): Promise<Read[][]> {
  const partitions = (await log.admin.listOffsets(topic, "latest")).length;
  const out: Read[][] = Array.from({ length: partitions }, () => []);
  for (const r of await readTopicRecords(log, topic, isolation)) {
    const headers: Record<string, string> = {};
    for (const k in r.headers) headers[k] = r.headers[k]!.toString();
    out[r.partition]!.push({
      partition: r.partition,
      key: r.key?.toString() ?? null,
      value: r.value?.toString() ?? null,
      timestamp: r.timestamp,
      headers,
    });
  }
  return out;
}

/** The real producer, counting which of its two paths the collector used. */
function counting(producer: Producer): Producer & { sends: number; encodedSends: number } {
  const c = {
    sends: 0,
    encodedSends: 0,
    send: (topic: string, records: readonly ProducerRecord[]) => {
      c.sends++;
      return producer.send(topic, records);
    },
    sendEncoded: (topic: string, batches: readonly { partition: number; batch: Buffer }[]) => {
      c.encodedSends++;
      return producer.sendEncoded!(topic, batches);
    },
    close: () => producer.close(),
  };
  return c;
}

const partitionsOf = (log: LogClient) => async (topic: string) =>
  (await log.admin.describeTopic(topic)).partitions.length;

/** Keyed records of every shape a sink hands over: tombstones, headers, explicit partitions. */
function keyedRecords(n: number, partitions: number): ProducerRecord[] {
  const rand = seeded(14);
  const out: ProducerRecord[] = [];
  for (let i = 0; i < n; i++) {
    const word = `w${Math.floor(rand() * 60)}`;
    const r: ProducerRecord = {
      key: Buffer.from(word),
      value: i % 17 === 5 ? null : Buffer.from(`${i}:${"v".repeat(Math.floor(rand() * 3000))}`),
      timestamp: 1_796_000_000_000 + i * 3 - (i % 5) * 7,
      headers:
        i % 29 === 0 ? { "error.message": `bad ${i}`, raw: Buffer.from([i & 255]) } : NO_HEADERS,
    };
    if (i % 31 === 0) r.partition = i % partitions;
    out.push(r);
  }
  return out;
}

function show(r: ProducerRecord): Omit<Read, "partition"> {
  const headers: Record<string, string> = {};
  for (const k in r.headers ?? {}) headers[k] = r.headers![k]!.toString();
  return {
    key: r.key?.toString() ?? null,
    value: r.value?.toString() ?? null,
    timestamp: r.timestamp!,
    headers,
  };
}

let log: LogClient;
let dir: string;
beforeEach(async () => {
  dir = tempDir("collector");
  log = await openEmbeddedLog(dir);
});
afterEach(async () => {
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the worker's record collector, encoding outputs into batches", () => {
  it("puts each record where producer.send puts it, in the order handed in, nothing lost", async () => {
    const partitions = 4;
    await log.admin.createTopic("encoded", { partitions });
    await log.admin.createTopic("reference", { partitions });
    const records = keyedRecords(3000, partitions); // ~4.5 MB: batches fill and split
    const producer = counting(log.producer());
    const collector = new ProducingRecordCollector(producer, partitionsOf(log));
    // the first records go before the partition count is known, as objects
    for (const r of records.slice(0, 10)) collector.send("encoded", r);
    await collector.flush();
    for (let i = 10; i < records.length; i++) {
      const r = records[i]!;
      // a sink hands over a record's parts; other records come as objects
      if (i % 2 === 0 && r.partition === undefined) {
        collector.sendSerialized("encoded", r.key!, r.value, r.timestamp!, r.headers!);
      } else collector.send("encoded", r);
      if (i % 400 === 0) collector.sendBuffered();
    }
    await collector.flush();
    expect(producer.sends).toBeGreaterThan(0);
    expect(producer.encodedSends).toBeGreaterThan(0);
    expect(collector.sent).toBe(records.length);

    // the reference: the producer partitioning the same records itself
    const reference = log.producer();
    for (let i = 0; i < records.length; i += 500) {
      await reference.send("reference", records.slice(i, i + 500));
    }
    const expected = await readAll(log, "reference");
    const got = await readAll(log, "encoded");
    expect(got.map((p) => p.length)).toEqual(expected.map((p) => p.length));
    for (let p = 0; p < partitions; p++) expect(got[p]).toEqual(expected[p]);
    // and against the records themselves: every one, once
    const left = new Map<string, number>();
    for (const r of records) {
      const k = JSON.stringify(show(r));
      left.set(k, (left.get(k) ?? 0) + 1);
    }
    for (const { partition: _, ...r } of got.flat()) {
      const k = JSON.stringify(r);
      left.set(k, (left.get(k) ?? 0) - 1);
    }
    expect([...left.values()].filter((n) => n !== 0)).toEqual([]);
  });

  it("sends a poll's keyless records to one partition, all of them", async () => {
    await log.admin.createTopic("keyless", { partitions: 3 });
    const collector = new ProducingRecordCollector(log.producer(), partitionsOf(log));
    collector.send("keyless", { value: Buffer.from("first"), timestamp: 1 });
    await collector.flush();
    for (let i = 0; i < 50; i++) {
      collector.send("keyless", { key: null, value: Buffer.from(`v${i}`), timestamp: 2 + i });
    }
    await collector.flush();
    const got = await readAll(log, "keyless");
    const used = got.map((p) => p.filter((r) => r.value !== "first").length);
    expect(used.filter((n) => n > 0)).toEqual([50]);
    const p = used.indexOf(50);
    expect(got[p]!.filter((r) => r.value !== "first").map((r) => r.value)).toEqual(
      Array.from({ length: 50 }, (_, i) => `v${i}`),
    );
  });

  it("sends a record bigger than a batch alone, and fails flush naming a topic that refuses it", async () => {
    await log.admin.createTopic("big", { partitions: 1 });
    await log.admin.createTopic("small", { partitions: 1, config: { maxMessageBytes: 64 * 1024 } });
    const collector = new ProducingRecordCollector(log.producer(), partitionsOf(log));
    collector.send("big", { key: Buffer.from("a"), value: Buffer.from("before"), timestamp: 1 });
    await collector.flush(); // the partition count is known from here
    const huge = Buffer.alloc(1536 * 1024, 0x62);
    collector.send("big", { key: Buffer.from("a"), value: Buffer.from("x"), timestamp: 2 });
    collector.send("big", { key: Buffer.from("a"), value: huge, timestamp: 3 });
    collector.send("big", { key: Buffer.from("a"), value: Buffer.from("after"), timestamp: 4 });
    await collector.flush();
    const got = (await readAll(log, "big"))[0]!;
    expect(got.map((r) => r.value?.length)).toEqual([6, 1, huge.length, 5]);

    collector.send("small", { key: Buffer.from("a"), value: Buffer.from("ok"), timestamp: 1 });
    await collector.flush();
    collector.send("small", {
      key: Buffer.from("a"),
      value: Buffer.alloc(100 * 1024),
      timestamp: 2,
    });
    await expect(collector.flush()).rejects.toThrow(/small.*exceeds max\.message\.bytes=65536/);
  });

  it("fails flush naming a partition the topic does not have", async () => {
    await log.admin.createTopic("two", { partitions: 2 });
    const collector = new ProducingRecordCollector(log.producer(), partitionsOf(log));
    collector.send("two", { key: Buffer.from("k"), value: Buffer.from("v"), timestamp: 1 });
    await collector.flush();
    collector.send("two", { value: Buffer.from("v"), timestamp: 2, partition: 5 });
    collector.sendBuffered();
    // queued behind the failing send: never sent, and no longer counted as backlog
    collector.send("two", { key: Buffer.from("k"), value: Buffer.from("w"), timestamp: 3 });
    await expect(collector.flush()).rejects.toThrow(/partition 5.*'two' has partitions 0\.\.1/);
    expect(collector.backlogged(0)).toBe(false);
  });

  it("counts bytes handed in as backlog until they are acknowledged", async () => {
    await log.admin.createTopic("backlog", { partitions: 2 });
    const collector = new ProducingRecordCollector(log.producer(), partitionsOf(log));
    const value = Buffer.alloc(1000, 0x63);
    for (let i = 0; i < 600; i++) {
      collector.send("backlog", { key: Buffer.from(`k${i}`), value, timestamp: i });
    }
    expect(collector.backlogged(500_000)).toBe(true);
    await collector.flush();
    expect(collector.backlogged(0)).toBe(false);
  });

  it("drops on discard what it had not handed to the producer", async () => {
    await log.admin.createTopic("dropped", { partitions: 2 });
    const collector = new ProducingRecordCollector(log.producer(), partitionsOf(log));
    collector.send("dropped", { key: Buffer.from("k0"), value: Buffer.from("kept"), timestamp: 1 });
    await collector.flush();
    for (let i = 1; i < 20; i++) {
      collector.send("dropped", {
        key: Buffer.from(`k${i}`),
        value: Buffer.from("x"),
        timestamp: i,
      });
    }
    await collector.discard();
    await collector.flush();
    expect((await readAll(log, "dropped")).flat().map((r) => r.value)).toEqual(["kept"]);
    expect(collector.backlogged(0)).toBe(false);
  });

  it("writes transactional batches: invisible to read_committed readers until the commit", async () => {
    await log.admin.createTopic("txn-out", { partitions: 3 });
    const txn = log.transactionalProducer({ transactionalId: "collector-test" });
    await txn.initTransactions();
    expect(txn.sendEncoded).toBeDefined();
    const producer = counting({
      send: (t, r) => txn.send(t, r),
      sendEncoded: (t, b) => txn.sendEncoded!(t, b),
      close: () => Promise.resolve(),
    });
    const collector = new ProducingRecordCollector(producer, partitionsOf(log));
    const round = async (tag: string, commit: boolean) => {
      await txn.beginTransaction();
      for (let i = 0; i < 200; i++) {
        collector.send("txn-out", {
          key: Buffer.from(`k${i}`),
          value: Buffer.from(tag),
          timestamp: i,
        });
        if (i % 50 === 0) collector.sendBuffered();
      }
      await collector.flush();
      if (commit) await txn.commitTransaction();
      else await txn.abortTransaction();
    };
    await round("first", true);
    await round("aborted", false);
    await round("second", true);
    expect(producer.encodedSends).toBeGreaterThan(0);
    const committed = (await readAll(log, "txn-out", "read_committed")).flat();
    expect(committed.filter((r) => r.value === "aborted")).toEqual([]);
    expect(committed.filter((r) => r.value === "first")).toHaveLength(200);
    expect(committed.filter((r) => r.value === "second")).toHaveLength(200);
    const everything = (await readAll(log, "txn-out")).flat();
    expect(everything.filter((r) => r.value === "aborted").length).toBeGreaterThan(0);
    await txn.close();
  });

  it("cuts its batches to an output topic's lower max.message.bytes: many small records all stored", async () => {
    // A topic whose limit is below the collector's 1 MiB batches: before, every send of
    // many small records was refused (RECORD_TOO_LARGE) and the worker stopped.
    await log.admin.createTopic("small-limit", {
      partitions: 2,
      config: { maxMessageBytes: 65_536 },
    });
    const collector = new ProducingRecordCollector(log.producer(), async (topic) => {
      const d = await log.admin.describeTopic(topic);
      return { partitions: d.partitions.length, maxMessageBytes: d.config.maxMessageBytes };
    });
    const n = 5000;
    const value = (i: number) => `${i}:`.padEnd(110, "v");
    for (let i = 0; i < 10; i++)
      collector.send("small-limit", { key: Buffer.from(`k${i}`), value: Buffer.from(value(i)) });
    await collector.flush(); // the layout is known from here on: the rest is encoded
    for (let i = 10; i < n; i++) {
      collector.sendSerialized(
        "small-limit",
        Buffer.from(`k${i}`),
        Buffer.from(value(i)),
        1_000 + i,
        NO_HEADERS,
      );
    }
    await collector.flush();
    expect(collector.sent).toBe(n);
    const stored = (await readAll(log, "small-limit")).flat();
    expect(stored.length).toBe(n);
    expect(new Set(stored.map((r) => r.value)).size).toBe(n);
    for (const part of await readAll(log, "small-limit")) {
      // per partition, the order handed in
      const order = part.map((r) => Number(r.value!.split(":")[0]));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });
});
