import {
  type Producer,
  type ProducerRecord,
  partitionForKey,
  type RecordHeaders,
  RecordBatchBuilder,
} from "@tributary/log";
import type { RecordCollector } from "./record-collector.js";

/** Bytes buffered for one topic before they go out in one send (well under the default
 * max.message.bytes of 8 MiB, which bounds one partition's batch). */
const SEND_BYTES = 4 * 1024 * 1024;
const RECORD_OVERHEAD_BYTES = 32;
/** One encoded batch's bytes at most, as the producer's own batches (service-producer.ts). */
const BATCH_BYTES = 1024 * 1024;
/** A partition's first batch buffer; later ones start at the size its last batch reached. */
const FIRST_BATCH_BYTES = 16 * 1024;
/**
 * A topic's sends in flight at once with a producer that has `dispatchEncoded`: a second
 * overlaps the first's round trip, so outputs processed meanwhile need not wait for its
 * ack; more would split a loaded worker's outputs into more, smaller batches.
 */
const SENDS_IN_FLIGHT = 2;
const SETTLED: Promise<void> = Promise.resolve();

interface EncodedBatch {
  partition: number;
  batch: Buffer;
}

/** What the collector learns of an output topic before it encodes records for it. */
export interface OutputTopicLayout {
  partitions: number;
  /**
   * The topic's max.message.bytes: its batches are cut to it, or the log would refuse a
   * batch of many small records that a topic with a lower limit cannot take.
   */
  maxMessageBytes?: number;
}

interface TopicBuffer {
  /**
   * Records kept as objects, sent with `producer.send`: all of them for a producer without
   * `sendEncoded`, else those handed in before the topic's partition count was
   * known (they precede every encoded one, and go first), and any naming a partition the
   * topic does not have (the send fails naming it).
   */
  records: ProducerRecord[];
  /** The topic's partition count once known (then records are encoded); 0 before. */
  partitions: number;
  lookingUp: boolean;
  /** The largest batch this topic takes: BATCH_BYTES, or less if its limit is lower. */
  batchBytes: number;
  /** Per partition, the batch being written. */
  writers: (RecordBatchBuilder | undefined)[];
  /** Per partition, the bytes its last batch took: the next one's first buffer. */
  lastBatchBytes: number[];
  /** Batches that filled up, in the order they did (per partition, the records' order). */
  full: EncodedBatch[];
  /** Records in `writers` and `full`. */
  encoded: number;
  bytes: number;
  /** The partition of keyless records until the next send (Kafka's sticky partitioner). */
  sticky: number;
  /** Sends handed to the producer and not yet acknowledged or failed. */
  inFlight: number;
  /** Settles when the topic's latest send is queued in the producer (with
   * `dispatchEncoded`) or acknowledged: the next send goes after it. */
  queued: Promise<void>;
}

/**
 * The worker's RecordCollector (Kafka's RecordCollectorImpl): tasks hand it records
 * synchronously; it batches them per topic and hands each batch to the producer when
 * the worker has run a poll's records (`sendBuffered`), once it holds SEND_BYTES, and on
 * `flush()`. Each partition receives its records in the order the tasks produced them (a
 * table's last update per key must stay last): a topic's sends are handed to the producer
 * one after another, and with a producer that queues a send before it acknowledges it
 * (`dispatchEncoded`) up to SENDS_IN_FLIGHT of them are in flight at once, in that order
 * per partition (idempotent sequences); with any other producer one at a time. While a
 * topic has its limit in flight, what it buffers waits and goes as one send when one
 * completes (few large sends under load, no wait when idle; with one in flight, an
 * output processed meanwhile waited up to a whole produce round trip: issue #14's
 * latency tail). `flush()` resolves once every record handed in so far is acknowledged
 * (durable per the topic's flush policy), and rejects with the first send error: the
 * commit that called it must not go on to commit input offsets.
 *
 * With a producer that takes encoded batches (`sendEncoded`: Tributary's log, and Kafka's
 * producers, which send them as they are in their Produce requests) and a way
 * to learn a topic's partition count, each record is partitioned here, once, as the
 * producer would (murmur2 of the key bytes, an explicit partition, or a sticky one for
 * keyless records), and its key, value and headers are written straight into one
 * RecordBatchBuilder per partition: the producer then only stamps its id, epoch and
 * sequences (and the transactional bit) and sends, with no record object kept per output
 * and no second encoding pass.
 */
export class ProducingRecordCollector implements RecordCollector {
  private readonly buffers = new Map<string, TopicBuffer>();
  /** The topic of the previous send and its buffer: a task's sink sends runs of one topic. */
  private lastTopic: string | null = null;
  private lastBuffer: TopicBuffer | null = null;
  /** Every send not yet acknowledged or failed, each settling without rejecting. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Sends a topic may have in flight (SENDS_IN_FLIGHT or 1, see the class comment). */
  private readonly sendsInFlight: number;
  private failure: unknown = null;
  /** Bytes handed in and not yet acknowledged (buffered or in flight). */
  private unacked = 0;
  private readonly encodes: boolean;
  /** Records handed to the producer and acknowledged. */
  sent = 0;

  constructor(
    private readonly producer: Producer,
    /**
     * The topic's partition count as the producer sees it (and its size limit); without it
     * nothing is encoded here.
     */
    private readonly partitionCount?: (topic: string) => Promise<number | OutputTopicLayout>,
  ) {
    this.encodes = producer.sendEncoded !== undefined && partitionCount !== undefined;
    this.sendsInFlight = producer.dispatchEncoded === undefined ? 1 : SENDS_IN_FLIGHT;
  }

  send(topic: string, record: ProducerRecord): void {
    const b = this.bufferOf(topic);
    const key = record.key;
    const value = record.value;
    this.count(b, key, value);
    const n = b.partitions;
    if (n === 0) this.keep(topic, b, record);
    else {
      let p = record.partition;
      if (p === undefined) p = key ? partitionForKey(key, n) : b.sticky % n;
      else if (!Number.isInteger(p) || p < 0 || p >= n) {
        b.records.push(record); // the producer refuses it, naming the topic's partitions
        p = -1;
      }
      if (p >= 0) this.encode(b, p, key, value, record.timestamp ?? Date.now(), record.headers);
    }
    if (b.bytes >= SEND_BYTES) this.dispatch(topic, b);
  }

  sendSerialized(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
    headers: RecordHeaders,
  ): void {
    const b = this.bufferOf(topic);
    this.count(b, key, value);
    const n = b.partitions;
    if (n === 0) this.keep(topic, b, { key, value, timestamp, headers });
    else {
      const p = key ? partitionForKey(key, n) : b.sticky % n;
      this.encode(b, p, key, value, timestamp, headers);
    }
    if (b.bytes >= SEND_BYTES) this.dispatch(topic, b);
  }

  private bufferOf(topic: string): TopicBuffer {
    let b = topic === this.lastTopic ? this.lastBuffer! : this.buffers.get(topic);
    if (b === undefined) {
      b = {
        records: [],
        partitions: 0,
        lookingUp: false,
        batchBytes: BATCH_BYTES,
        writers: [],
        lastBatchBytes: [],
        full: [],
        encoded: 0,
        bytes: 0,
        sticky: Math.floor(Math.random() * 1024),
        inFlight: 0,
        queued: SETTLED,
      };
      this.buffers.set(topic, b);
    }
    this.lastTopic = topic;
    this.lastBuffer = b;
    return b;
  }

  private count(
    b: TopicBuffer,
    key: Uint8Array | null | undefined,
    value: Uint8Array | null,
  ): void {
    const size = (key?.length ?? 0) + (value?.length ?? 0) + RECORD_OVERHEAD_BYTES;
    b.bytes += size;
    this.unacked += size;
  }

  /** Keeps a record as an object, until the topic's partition count is known. */
  private keep(topic: string, b: TopicBuffer, record: ProducerRecord): void {
    b.records.push(record);
    if (this.encodes && !b.lookingUp) this.lookUpPartitions(topic, b);
  }

  /** True when more than `limit` bytes await acknowledgement: the worker waits before
   * its next poll, so a slow log bounds the worker's memory instead of growing it. */
  backlogged(limit: number): boolean {
    return this.unacked > limit;
  }

  /**
   * Sends what each topic buffered unless it has its limit of sends in flight (then it
   * goes when one completes): outputs reach their topics a poll after their inputs, not a
   * commit interval later. Acknowledgement is still awaited only by `flush()`, before
   * offsets are committed; under exactly-once the sends join the open transaction,
   * invisible to read_committed readers until it commits.
   */
  sendBuffered(): void {
    for (const [topic, b] of this.buffers) {
      if (holds(b) && b.inFlight < this.sendsInFlight) this.dispatch(topic, b);
    }
  }

  async flush(): Promise<void> {
    for (const [topic, b] of this.buffers) if (holds(b)) this.dispatch(topic, b);
    // the sends started from here on are not this flush's: it waits for those before
    await Promise.all(this.inFlight);
    if (this.failure !== null) {
      const e = this.failure;
      this.failure = null;
      throw e;
    }
  }

  /**
   * Drops every record not yet handed to the producer and waits for the sends in flight
   * (exactly-once rollback: they belong to a transaction about to be aborted, and a record
   * of a closed task must not go out in the next one).
   */
  async discard(): Promise<void> {
    for (const b of this.buffers.values()) {
      this.unacked -= b.bytes;
      b.records = [];
      b.writers = [];
      b.full = [];
      b.encoded = 0;
      b.bytes = 0;
    }
    await Promise.all(this.inFlight);
    this.failure = null;
  }

  private encode(
    b: TopicBuffer,
    p: number,
    key: Uint8Array | null | undefined,
    value: Uint8Array | null,
    timestamp: number,
    headers: RecordHeaders | undefined,
  ): void {
    let w = b.writers[p];
    if (w === undefined) w = this.startBatch(b, p);
    if (!w.appendParts(key, value, timestamp, headers)) {
      b.full.push(this.finishBatch(b, p, w));
      w = this.startBatch(b, p);
      // a batch's first record is always taken (one bigger than the batch goes alone)
      w.appendParts(key, value, timestamp, headers);
    }
    b.encoded++;
  }

  private startBatch(b: TopicBuffer, p: number): RecordBatchBuilder {
    const w = new RecordBatchBuilder(
      b.batchBytes,
      Math.min(b.batchBytes, b.lastBatchBytes[p] ?? FIRST_BATCH_BYTES),
    );
    b.writers[p] = w;
    return w;
  }

  private finishBatch(b: TopicBuffer, p: number, w: RecordBatchBuilder): EncodedBatch {
    b.lastBatchBytes[p] = Math.min(b.batchBytes, w.bytes);
    b.writers[p] = undefined;
    return { partition: p, batch: w.finish() };
  }

  /** Learns the topic's partition count; until then (or if it fails) records stay objects. */
  private lookUpPartitions(topic: string, b: TopicBuffer): void {
    b.lookingUp = true;
    this.partitionCount!(topic).then(
      (layout) => {
        if (typeof layout === "number") b.partitions = layout;
        else {
          const limit = layout.maxMessageBytes;
          // below a batch header and one small record the log refuses every send anyway,
          // naming the limit
          if (limit !== undefined && limit > 128) b.batchBytes = Math.min(BATCH_BYTES, limit);
          b.partitions = layout.partitions;
        }
      },
      () => {
        b.lookingUp = false; // asked again by the next record; the send reports the cause
      },
    );
  }

  private dispatch(topic: string, b: TopicBuffer): void {
    const records = b.records;
    const batches = b.full;
    for (let p = 0; p < b.writers.length; p++) {
      const w = b.writers[p];
      if (w !== undefined && w.count > 0) batches.push(this.finishBatch(b, p, w));
    }
    const count = records.length + b.encoded;
    const bytes = b.bytes;
    b.records = [];
    b.full = [];
    b.encoded = 0;
    b.bytes = 0;
    b.sticky++;
    b.inFlight++;
    const producer = this.producer;
    let acks: Promise<unknown> = SETTLED;
    let handedOver = false;
    // Never rejects: a failure is kept for flush(), and the topic's later sends see it.
    const queued = b.queued.then(async () => {
      // after a failure nothing more goes out, but its bytes still leave the backlog
      if (this.failure !== null) return;
      try {
        // records kept as objects were handed in before every encoded one: they go first,
        // acknowledged before the batches are queued behind them
        if (records.length > 0) await producer.send(topic, records);
        if (batches.length > 0) {
          if (producer.dispatchEncoded === undefined) await producer.sendEncoded!(topic, batches);
          else acks = (await producer.dispatchEncoded(topic, batches)).acks;
        }
        handedOver = true;
      } catch (e) {
        this.failure ??= e;
      }
    });
    b.queued = queued;
    const done = queued
      .then(() => acks)
      .then(
        () => {
          if (handedOver) this.sent += count;
        },
        (e: unknown) => {
          this.failure ??= e;
        },
      )
      .finally(() => {
        this.unacked -= bytes;
        b.inFlight--;
        this.inFlight.delete(done);
        // what was buffered while the topic had its limit in flight, as one send
        if (holds(b) && this.failure === null && b.inFlight < this.sendsInFlight) {
          this.dispatch(topic, b);
        }
      });
    this.inFlight.add(done);
  }
}

function holds(b: TopicBuffer): boolean {
  return b.records.length > 0 || b.encoded > 0;
}
