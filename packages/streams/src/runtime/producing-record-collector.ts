import type { Producer, ProducerRecord } from "@tributary/log";
import type { RecordCollector } from "./record-collector.js";

/** Bytes buffered for one topic before they go out in one send (well under the default
 * max.message.bytes of 8 MiB, which bounds one partition's batch). */
const SEND_BYTES = 4 * 1024 * 1024;
const RECORD_OVERHEAD_BYTES = 32;

interface TopicBuffer {
  records: ProducerRecord[];
  bytes: number;
}

/**
 * The worker's RecordCollector (Kafka's RecordCollectorImpl): tasks hand it records
 * synchronously; it batches them per topic and hands each batch to `producer.send` when
 * the worker has run a poll's records (`sendBuffered`), once it holds SEND_BYTES, and on
 * `flush()`. Sends to one topic run one after another so each partition receives its
 * records in the order the tasks produced them (a table's last update per key must stay
 * last); while one is in flight, what a topic buffers waits and goes as one send when it
 * completes (few large sends under load, no wait when idle). `flush()` resolves once
 * every record handed in so far is acknowledged (durable per the topic's flush policy),
 * and rejects with the first send error: the commit that called it must not go on to
 * commit input offsets.
 */
export class ProducingRecordCollector implements RecordCollector {
  private readonly buffers = new Map<string, TopicBuffer>();
  /** The topic of the previous send and its buffer: a task's sink sends runs of one topic. */
  private lastTopic: string | null = null;
  private lastBuffer: TopicBuffer | null = null;
  private readonly chains = new Map<string, Promise<void>>();
  private failure: unknown = null;
  /** Bytes handed in and not yet acknowledged (buffered or in flight). */
  private unacked = 0;
  /** Records handed to the producer and acknowledged. */
  sent = 0;

  constructor(private readonly producer: Producer) {}

  send(topic: string, record: ProducerRecord): void {
    let b = topic === this.lastTopic ? this.lastBuffer! : this.buffers.get(topic);
    if (b === undefined) {
      b = { records: [], bytes: 0 };
      this.buffers.set(topic, b);
    }
    this.lastTopic = topic;
    this.lastBuffer = b;
    b.records.push(record);
    b.bytes += (record.key?.length ?? 0) + (record.value?.length ?? 0) + RECORD_OVERHEAD_BYTES;
    if (b.bytes >= SEND_BYTES) this.dispatch(topic, b);
  }

  /** True when more than `limit` bytes await acknowledgement: the worker waits before
   * its next poll, so a slow log bounds the worker's memory instead of growing it. */
  backlogged(limit: number): boolean {
    return this.unacked > limit;
  }

  /**
   * Sends what each topic buffered unless a send to it is in flight (then it goes when
   * that completes): outputs reach their topics a poll after their inputs, not a commit
   * interval later. Acknowledgement is still awaited only by `flush()`, before offsets
   * are committed; under exactly-once the sends join the open transaction, invisible to
   * read_committed readers until it commits.
   */
  sendBuffered(): void {
    for (const [topic, b] of this.buffers) {
      if (b.records.length > 0 && !this.chains.has(topic)) this.dispatch(topic, b);
    }
  }

  async flush(): Promise<void> {
    for (const [topic, b] of this.buffers) if (b.records.length > 0) this.dispatch(topic, b);
    await Promise.all(this.chains.values());
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
      b.bytes = 0;
    }
    await Promise.all(this.chains.values());
    this.failure = null;
  }

  private dispatch(topic: string, b: TopicBuffer): void {
    const records = b.records;
    const bytes = b.bytes;
    b.records = [];
    b.bytes = 0;
    const previous = this.chains.get(topic) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (this.failure !== null) return;
      try {
        await this.producer.send(topic, records);
        this.sent += records.length;
      } catch (e) {
        this.failure ??= e;
      } finally {
        this.unacked -= bytes;
      }
    });
    this.chains.set(topic, next);
    void next.then(() => {
      if (this.chains.get(topic) !== next) return;
      this.chains.delete(topic);
      // what was buffered while this send was in flight, as one send
      if (b.records.length > 0 && this.failure === null) this.dispatch(topic, b);
    });
  }
}
