import type { ConnectionPool } from "@platformatic/kafka";
import {
  type LogRecord,
  type ProducerRecord,
  type Producer,
  RecordBatchBuilder,
  type TransactionalProducer,
} from "@tributary/log";
import { describe, expect, it } from "vitest";
import { kafkaBrokers, suiteLog } from "./kafka-helpers.js";

kafkaBrokers();

/** One record as the test writes it, and as it must read back. */
interface Sent {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers?: Record<string, Buffer>;
}

/** Encodes `records` into one batch with RecordBatchBuilder, as the streams collector does. */
function batchOf(records: readonly Sent[], capacity = 1024 * 1024): Buffer {
  const b = new RecordBatchBuilder(capacity);
  for (const r of records) {
    if (!b.appendParts(r.key, r.value, r.timestamp, r.headers)) {
      throw new Error(`test batch over ${capacity} bytes`);
    }
  }
  return b.finish();
}

/** A record's fields as text, for comparing what was sent with what was read. */
function show(r: Sent | LogRecord): string {
  const headers = Object.entries(r.headers ?? {})
    .map(([k, v]) => `${k}=${Buffer.from(v).toString("hex")}`)
    .join(",");
  return `${r.key?.toString() ?? "<null>"}|${r.value?.toString() ?? "<null>"}|${r.timestamp}|${headers}`;
}

function records(prefix: string, n: number, t0: number): Sent[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 5 === 0 ? null : Buffer.from(`${prefix}-k${i}`),
    value: i % 7 === 3 ? null : Buffer.from(`${prefix}-v${i}`),
    timestamp: t0 + i * 3,
    ...(i % 4 === 1
      ? { headers: { trace: Buffer.from(`${prefix}${i}`), raw: Buffer.from([0, i]) } }
      : {}),
  }));
}

describe("a Kafka producer's sendEncoded (batches the caller encoded)", () => {
  const suite = suiteLog("encsend");

  /** Reads `count` records of each partition from offset 0 (bounded), in offset order. */
  async function readBack(
    topic: string,
    counts: readonly number[],
    isolation: "read_committed" | "read_uncommitted" = "read_uncommitted",
  ): Promise<LogRecord[][]> {
    const c = suite.consumer({ isolation });
    const parts = counts.map((_, partition) => ({ topic, partition }));
    c.assign(parts);
    for (const p of parts) c.seek(p, 0);
    const out: LogRecord[][] = counts.map(() => []);
    const deadline = Date.now() + 60_000;
    while (out.some((rs, p) => rs.length < counts[p]!)) {
      if (Date.now() > deadline) {
        throw new Error(`read ${out.map((r) => r.length)} of ${counts} records of '${topic}'`);
      }
      for (const fp of await c.poll({ maxWaitMs: 200 })) out[fp.partition]!.push(...fp.records);
    }
    await c.close();
    return out;
  }

  it("stores the batches as sent: keys, values, headers, timestamps and order, merged sends acknowledged with their own offsets", async () => {
    await suite.log.admin.createTopic("plain", { partitions: 2 });
    const producer = suite.log.producer();
    // Sends made without waiting are merged into rounds; each must get its own offsets.
    const sends = [0, 1, 2, 3].map((s) => ({
      p0: records(`s${s}p0`, 20 + s, 1_700_000_000_000 + s * 1000),
      p1: records(`s${s}p1`, 7, 1_700_000_500_000 + s * 1000),
    }));
    const acks = await Promise.all(
      sends.map((s) =>
        producer.sendEncoded!("plain", [
          { partition: 0, batch: batchOf(s.p0.slice(0, 10)) },
          { partition: 1, batch: batchOf(s.p1) },
          { partition: 0, batch: batchOf(s.p0.slice(10)) },
        ]),
      ),
    );
    await producer.close();

    // Offsets: each send's records follow the previous send's, per partition.
    let next0 = 0;
    let next1 = 0;
    for (let s = 0; s < sends.length; s++) {
      const n0 = sends[s]!.p0.length;
      const n1 = sends[s]!.p1.length;
      expect(acks[s]).toEqual([
        { topic: "plain", partition: 0, baseOffset: next0, lastOffset: next0 + n0 - 1 },
        { topic: "plain", partition: 1, baseOffset: next1, lastOffset: next1 + n1 - 1 },
      ]);
      next0 += n0;
      next1 += n1;
    }
    const [read0, read1] = await readBack("plain", [next0, next1]);
    expect(read0!.map(show)).toEqual(sends.flatMap((s) => s.p0).map(show));
    expect(read1!.map(show)).toEqual(sends.flatMap((s) => s.p1).map(show));
    expect(read0!.map((r) => r.offset)).toEqual(read0!.map((_, i) => i));
  });

  it("keeps call order between send and sendEncoded to one partition", async () => {
    await suite.log.admin.createTopic("mixed", { partitions: 1 });
    const producer = suite.log.producer();
    const a = records("a", 5, 1_700_000_000_000);
    const b = records("b", 6, 1_700_000_001_000);
    const c = records("c", 4, 1_700_000_002_000);
    const asRecords = (rs: Sent[]): ProducerRecord[] => rs.map((r) => ({ ...r, partition: 0 }));
    await Promise.all([
      producer.send("mixed", asRecords(a)),
      producer.sendEncoded!("mixed", [{ partition: 0, batch: batchOf(b) }]),
      producer.send("mixed", asRecords(c)),
    ]);
    await producer.close();
    const [read] = await readBack("mixed", [15]);
    expect(read!.map(show)).toEqual([...a, ...b, ...c].map(show));
  });

  it("a batch whose answer was lost is retried with its bytes and stored once", async () => {
    await suite.log.admin.createTopic("retried", { partitions: 1 });
    const producer = suite.log.producer();
    const first = records("first", 1, 1_700_000_000_000);
    await producer.sendEncoded!("retried", [{ partition: 0, batch: batchOf(first) }]);
    // The producer's own connection to the (single) broker: its answers stop being read,
    // and once Kafka has written the batch the connection is cut, so the producer cannot
    // know whether the batch was written and must send it again.
    const [host, port] = kafkaBrokers().split(",")[0]!.split(":");
    const pool = (producer as unknown as { pool: ConnectionPool }).pool;
    const connection = await pool.get({ host: host!, port: Number(port) });
    connection.socket.pause();
    const lost = records("lost", 3, 1_700_000_001_000);
    const requestsBefore = (producer as unknown as { requests: number }).requests;
    const sent = producer.sendEncoded!("retried", [{ partition: 0, batch: batchOf(lost) }]);
    for (const deadline = Date.now() + 60_000; ; ) {
      const [end] = await suite.log.admin.listOffsets("retried", "latest");
      if (end!.offset >= 4) break;
      if (Date.now() > deadline)
        throw new Error(`the batch never reached Kafka (end ${end!.offset})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    connection.socket.destroy();
    expect(await sent).toEqual([{ topic: "retried", partition: 0, baseOffset: 1, lastOffset: 3 }]);
    // Sent at least twice: the retry went out, and Kafka took it for the batch it had.
    expect((producer as unknown as { requests: number }).requests).toBeGreaterThanOrEqual(
      requestsBefore + 2,
    );
    const after = records("after", 2, 1_700_000_002_000);
    await producer.sendEncoded!("retried", [{ partition: 0, batch: batchOf(after) }]);
    await producer.close();
    const [end] = await suite.log.admin.listOffsets("retried", "latest");
    expect(end!.offset).toBe(6);
    const [read] = await readBack("retried", [6]);
    expect(read!.map(show)).toEqual([...first, ...lost, ...after].map(show));
  });

  it("in a transaction: readable with read_committed only after commit, never after abort", async () => {
    await suite.log.admin.createTopic("txn", { partitions: 2 });
    const producer: TransactionalProducer = suite.log.transactionalProducer({
      transactionalId: "encsend-txn",
    });
    await producer.initTransactions();
    const aborted = records("aborted", 8, 1_700_000_000_000);
    const committed0 = records("committed0", 5, 1_700_000_001_000);
    const committed1 = records("committed1", 3, 1_700_000_002_000);
    await producer.beginTransaction();
    await producer.sendEncoded!("txn", [{ partition: 0, batch: batchOf(aborted) }]);
    await producer.abortTransaction();
    await producer.beginTransaction();
    await producer.sendEncoded!("txn", [
      { partition: 0, batch: batchOf(committed0) },
      { partition: 1, batch: batchOf(committed1) },
    ]);
    await producer.commitTransaction();
    await producer.close();

    // read_uncommitted sees the aborted records too: they were written, then aborted.
    const [all0] = await readBack("txn", [13, 0]);
    expect(all0!.map(show)).toEqual([...aborted, ...committed0].map(show));
    const [read0, read1] = await readBack("txn", [5, 3], "read_committed");
    expect(read0!.map(show)).toEqual(committed0.map(show));
    expect(read1!.map(show)).toEqual(committed1.map(show));
  });

  it("a batch larger than a request takes goes in smaller batches; one record larger than the topic takes is refused naming the topic", async () => {
    await suite.log.admin.createTopic("big", { partitions: 1 });
    const producer: Producer = suite.log.producer();
    // 3 MiB in one encoded batch, over max.request.size and the topic's max.message.bytes.
    const many = Array.from({ length: 30_000 }, (_, i) => ({
      key: Buffer.from(`k${String(i).padStart(8, "0")}`),
      value: Buffer.alloc(90, 0x61 + (i % 26)),
      timestamp: 1_700_000_000_000 + i,
    }));
    const big = batchOf(many, 8 * 1024 * 1024);
    expect(big.length).toBeGreaterThan(3 * 1024 * 1024);
    expect(await producer.sendEncoded!("big", [{ partition: 0, batch: big }])).toEqual([
      { topic: "big", partition: 0, baseOffset: 0, lastOffset: many.length - 1 },
    ]);
    const [read] = await readBack("big", [many.length]);
    expect(read!.map(show)).toEqual(many.map(show));

    const huge = batchOf(
      [{ key: Buffer.from("huge"), value: Buffer.alloc(2 * 1024 * 1024, 1), timestamp: 1 }],
      1024,
    );
    const refused = await producer.sendEncoded!("big", [{ partition: 0, batch: huge }]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ code: "RECORD_TOO_LARGE" });
    expect(String((refused as Error).message)).toContain("'big'");
    // The producer goes on: its sequences were not disturbed by the refusal.
    const tail = records("tail", 2, 1_700_000_100_000);
    expect(await producer.sendEncoded!("big", [{ partition: 0, batch: batchOf(tail) }])).toEqual([
      { topic: "big", partition: 0, baseOffset: many.length, lastOffset: many.length + 1 },
    ]);
    await producer.close();
  });

  it("refuses a batch for a partition the topic lacks, or bytes that are no finished batch, naming them", async () => {
    await suite.log.admin.createTopic("bad", { partitions: 2 });
    const producer = suite.log.producer();
    const ok = batchOf(records("x", 2, 1_700_000_000_000));
    await expect(producer.sendEncoded!("bad", [{ partition: 2, batch: ok }])).rejects.toThrow(
      /bad.*2|2.*bad/,
    );
    const notABatch = Buffer.alloc(80, 7);
    const err = await producer.sendEncoded!("bad", [{ partition: 0, batch: notABatch }]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(String((err as Error).message)).toContain("'bad' partition 0");
    // A good send after the refused ones goes through.
    expect(await producer.sendEncoded!("bad", [{ partition: 1, batch: ok }])).toEqual([
      { topic: "bad", partition: 1, baseOffset: 0, lastOffset: 1 },
    ]);
    await producer.close();
  });
});
