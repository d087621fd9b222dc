import { ClosedError, TributaryError } from "../errors.js";
import type { ProduceResult, Producer } from "./log-client.js";
import type { LogService } from "./log-service.js";
import type { MetadataCache } from "./metadata-cache.js";
import { checkPartition, encodeSend } from "./encode-send.js";
import type { ProducerRecord } from "../record.js";
import { TRANSACTIONAL_FLAG } from "../record-batch.js";
import { isBuiltHere, markEncodedHere } from "../record-batch-encoded-here.js";
import { OFF_RECORD_COUNT } from "../record-batch-layout.js";
import { stampProducer } from "./record-batch-builder.js";
import { type RetryPolicy, retryWithBackoff } from "../retry-with-backoff.js";

/** Records for one partition are split into batches no bigger than this. */
const DEFAULT_BATCH_BYTES = 1024 * 1024;
const RETRY_BACKOFF_MS = 50;
const MAX_RETRY_BACKOFF_MS = 1000;
const DEFAULT_DELIVERY_TIMEOUT_MS = 30_000;

/** Sequence numbers wrap to 0 after 2^31 - 1, as Kafka's. */
const SEQUENCE_WRAP = 2 ** 31;
/**
 * Batches of one partition in flight at once, for an idempotent producer: the log keeps
 * the last five batches per producer to recognise retries (Kafka's limit on
 * max.in.flight.requests.per.connection with idempotence), so a retry is never older.
 */
const MAX_IN_FLIGHT_PER_PARTITION = 5;
const SETTLED: Promise<void> = Promise.resolve();

/** What a transactional producer lends the producer it sends through. */
export interface ProducerTransaction {
  /** The producer id and epoch initTransactions got. */
  producer(): { producerId: number; producerEpoch: number };
  /** Adds these partitions of `topic` to the open transaction (before their first batch). */
  addPartitions(topic: string, partitions: number[]): Promise<void>;
  /**
   * True once a send of the open transaction failed: it can only abort, so batches still
   * retrying (a sequence gap behind the failed batch) stop instead of waiting out the
   * delivery timeout.
   */
  failed(): boolean;
}

/**
 * The producer over a LogService: partitions, encodes one batch per partition, and sends
 * the batches concurrently. An ack carries the offsets the log gave; what it guarantees is
 * the topic's flush policy (topic-config.ts).
 *
 * Idempotent by default: before its first batch it gets a producer id from the log
 * (`initProducerId`), and stamps each batch with it, its epoch and the partition's next
 * sequence number; a batch is encoded once and retried as the same bytes, so the log
 * recognises a retry of a batch it already has and answers with the original offsets
 * (storage/producer-state.ts).
 */
export class ServiceProducer implements Producer {
  private closed = false;
  private stickyCounter = Math.floor(Math.random() * 1024);
  private readonly retryPolicy: RetryPolicy;
  /** The producer id and epoch, once asked for (idempotent producers only). */
  private producerId: Promise<{ producerId: number; producerEpoch: number } | null> | null = null;
  /** The next sequence number per "topic-partition". */
  private readonly sequences = new Map<string, number>();
  /** Batches in flight per "topic-partition", and the sends waiting for a slot, in order. */
  private readonly inFlight = new Map<string, { count: number; waiting: (() => void)[] }>();
  /**
   * Per partition, settles when the partition's latest batch and every batch before it are
   * acknowledged or failed for good (see sendInOrder and sendBatch).
   */
  private readonly lastSettled = new Map<string, Promise<void>>();

  constructor(
    private readonly service: LogService,
    private readonly metadata: MetadataCache,
    private readonly batchBytes = DEFAULT_BATCH_BYTES,
    deliveryTimeoutMs = DEFAULT_DELIVERY_TIMEOUT_MS,
    private readonly idempotent = true,
    /** Set for a transactional producer's sends: its batches are transactional. */
    private readonly transaction?: ProducerTransaction,
  ) {
    this.retryPolicy = {
      retryIf: (err) =>
        err instanceof TributaryError && err.retriable && !(this.transaction?.failed() ?? false),
      initialDelayMs: RETRY_BACKOFF_MS,
      maxDelayMs: MAX_RETRY_BACKOFF_MS,
      timeoutMs: deliveryTimeoutMs,
    };
  }

  async send(topic: string, records: readonly ProducerRecord[]): Promise<ProduceResult[]> {
    return (await this.dispatch(topic, records)).acks;
  }

  /**
   * `send` in two steps: resolves once the records' batches are encoded (their sequence
   * numbers taken) and queued behind the batches of earlier calls, with `acks`, which
   * resolves when the log has them all. A caller that lets one dispatch resolve before it
   * starts the next keeps its sends in call order on every partition, while their batches
   * are in flight together (the transactional producer does this).
   */
  async dispatch(
    topic: string,
    records: readonly ProducerRecord[],
  ): Promise<{ acks: Promise<ProduceResult[]> }> {
    if (this.closed) throw new ClosedError("producer");
    if (records.length === 0) return { acks: Promise.resolve([]) };
    const partitions = await this.metadata.partitionCount(topic);
    const producer =
      this.transaction !== undefined
        ? this.transaction.producer()
        : this.idempotent
          ? await this.initProducerId()
          : null;
    // Keyless records of one send share one partition, as Kafka's sticky partitioner: one
    // batch instead of n small ones.
    const sticky = this.stickyCounter++ % partitions;
    const batches = encodeSend(topic, records, partitions, sticky, this.batchBytes, Date.now());
    if (this.transaction !== undefined) {
      await this.transaction.addPartitions(topic, [...new Set(batches.map((b) => b.partition))]);
    }
    // Stamped and marked as encoded here: nobody else holds these buffers, so an embedded
    // log appending them can skip checking the CRC just computed (record-batch-encoded-here.ts).
    const sends = batches.map(({ partition, batch }) =>
      this.queue(
        topic,
        partition,
        markEncodedHere(this.stampBatch(topic, partition, batch, producer)),
        producer,
      ),
    );
    return { acks: Promise.all(sends).then(mergeAcks) };
  }

  /**
   * Sends batches the caller encoded (RecordBatchBuilder), each to the partition the caller
   * chose as `send` would (murmur2 of the key). Each is stamped here with the producer id
   * and its partition's next sequence, then queued as `send`'s batches are: in array
   * order, behind the partition's earlier batches.
   */
  async sendEncoded(
    topic: string,
    batches: readonly { partition: number; batch: Buffer }[],
  ): Promise<ProduceResult[]> {
    return (await this.dispatchEncoded(topic, batches)).acks;
  }

  /** `sendEncoded` in two steps, as `dispatch` is `send`'s (the transactional producer's). */
  async dispatchEncoded(
    topic: string,
    batches: readonly { partition: number; batch: Buffer }[],
  ): Promise<{ acks: Promise<ProduceResult[]> }> {
    if (this.closed) throw new ClosedError("producer");
    if (batches.length === 0) return { acks: Promise.resolve([]) };
    const partitions = await this.metadata.partitionCount(topic);
    for (const b of batches) checkPartition(topic, b.partition, partitions);
    const producer = await this.currentProducer();
    await this.transaction?.addPartitions(topic, [...new Set(batches.map((b) => b.partition))]);
    // A batch a RecordBatchBuilder here finished is the producer's once handed over
    // (finish()): stamped here, its CRC is as fresh as send's own batches' and skips the
    // embedded log's check as theirs do. Any other buffer is checked on append.
    const sends = batches.map(({ partition, batch }) => {
      const stamped = this.stampBatch(topic, partition, batch, producer);
      if (isBuiltHere(batch)) markEncodedHere(stamped);
      return this.queue(topic, partition, stamped, producer);
    });
    return { acks: Promise.all(sends).then(mergeAcks) };
  }

  private currentProducer(): Promise<{ producerId: number; producerEpoch: number } | null> {
    if (this.transaction !== undefined) return Promise.resolve(this.transaction.producer());
    return this.idempotent ? this.initProducerId() : Promise.resolve(null);
  }

  /** Queues one encoded batch behind the partition's earlier ones (idempotent producers). */
  private queue(
    topic: string,
    p: number,
    batch: Buffer,
    producer: { producerId: number } | null,
  ): Promise<ProduceResult> {
    if (producer === null) return this.sendBatch(topic, p, batch, SETTLED);
    const key = `${topic}-${p}`;
    const before = this.lastSettled.get(key) ?? SETTLED;
    const sent = this.sendInOrder(key, before, () => this.sendBatch(topic, p, batch, before));
    const settled = sent.then(
      () => undefined,
      () => undefined,
    );
    this.lastSettled.set(
      key,
      before.then(() => settled),
    );
    return sent;
  }

  /**
   * The producer id, asked for once; a failed ask is asked again by the next send. Null
   * from a broker too old to hand out ids (UNKNOWN_REQUEST): then the producer sends as
   * before, at-least-once.
   */
  private initProducerId(): Promise<{ producerId: number; producerEpoch: number } | null> {
    if (this.producerId === null) {
      this.producerId = retryWithBackoff(
        () => this.service.initProducerId(),
        this.retryPolicy,
      ).catch((err) => {
        if (err instanceof TributaryError && err.code === "UNKNOWN_REQUEST") return null;
        throw err;
      });
      this.producerId.catch(() => {
        this.producerId = null;
      });
    }
    return this.producerId;
  }

  /** Starts every partition's sequence at 0 again (a new producer id or epoch). */
  resetSequences(): void {
    this.producerId = null;
    this.sequences.clear();
  }

  /**
   * Runs `send` once fewer than MAX_IN_FLIGHT_PER_PARTITION batches of partition `key` are
   * in flight; waiting sends go in the order they came, which is their sequence order.
   * A slot is freed only once its batch and every earlier one (`before`) have settled: the
   * batches sent are never more than five past the oldest unacknowledged one, so the log,
   * which remembers a producer's last five batches, still knows that one if its answer was
   * lost and it comes back as a retry.
   */
  private async sendInOrder<T>(
    key: string,
    before: Promise<void>,
    send: () => Promise<T>,
  ): Promise<T> {
    let slots = this.inFlight.get(key);
    if (slots === undefined) {
      slots = { count: 0, waiting: [] };
      this.inFlight.set(key, slots);
    }
    if (slots.count < MAX_IN_FLIGHT_PER_PARTITION) slots.count++;
    else await new Promise<void>((resolve) => slots.waiting.push(resolve));
    const release = () => {
      // Hand the slot straight to the next waiting send, so none can overtake it.
      const next = slots.waiting.shift();
      if (next !== undefined) next();
      else slots.count--;
    };
    try {
      return await send();
    } finally {
      void before.then(release);
    }
  }

  /** Stamps a batch with the producer fields (its sequence taken) and its CRC. */
  private stampBatch(
    topic: string,
    partition: number,
    batch: Buffer,
    producer: { producerId: number; producerEpoch: number } | null,
  ): Buffer {
    const count = batch.readInt32BE(OFF_RECORD_COUNT);
    stampProducer(batch, producer === null ? null : this.stamp(topic, partition, count, producer));
    return batch;
  }

  /** The producer fields of the partition's next batch of `count` records (its sequence taken). */
  private stamp(
    topic: string,
    partition: number,
    count: number,
    producer: { producerId: number; producerEpoch: number },
  ) {
    const key = `${topic}-${partition}`;
    const baseSequence = this.sequences.get(key) ?? 0;
    this.sequences.set(key, (baseSequence + count) % SEQUENCE_WRAP);
    return {
      producerId: producer.producerId,
      producerEpoch: producer.producerEpoch,
      baseSequence,
      ...(this.transaction === undefined ? {} : { attributes: TRANSACTIONAL_FLAG }),
    };
  }

  /**
   * Sends one batch, retrying retriable failures (a broker connection lost and coming
   * back; a sequence gap while an earlier batch is still being retried) with backoff until
   * the delivery timeout. A batch whose ack was lost may already be in the log: an
   * idempotent producer's retry is recognised there and stored once; without idempotence
   * a retry can duplicate it (at-least-once).
   *
   * Retries go in sequence order: a retry first waits until the partition's previous batch
   * (`before`) is acknowledged or failed for good, as Kafka's producer re-sends only the
   * next batch by sequence. Otherwise, after a connection loss, later batches retried
   * first are stored and acknowledged, free their in-flight slots for new batches, and an
   * earlier batch whose answer was lost (it is in the log) comes back after more than the
   * five batches the log remembers per producer: refused as out of order on every retry,
   * it would fail a send whose records are stored.
   */
  private async sendBatch(
    topic: string,
    partition: number,
    batch: Buffer,
    before: Promise<void>,
  ): Promise<ProduceResult> {
    let attempt = 0;
    const ack = await retryWithBackoff(async () => {
      if (attempt++ > 0) await before;
      try {
        return await this.service.produce(topic, partition, batch);
      } catch (err) {
        if (
          err instanceof TributaryError &&
          (err.code === "UNKNOWN_TOPIC" || err.code === "UNKNOWN_PARTITION")
        ) {
          this.metadata.invalidate(topic);
        }
        throw err;
      }
    }, this.retryPolicy).catch((err) => {
      // The batch's sequence numbers were never stored, so the partition would refuse every
      // later one as a gap: later sends start over with a new producer id (unknown to the
      // log, so any first sequence is taken). Batches already in flight fail as gaps.
      // A transactional producer instead aborts and takes a new epoch (sequences from 0).
      if (this.producerId !== null && this.transaction === undefined) this.resetSequences();
      throw err;
    });
    return { topic, partition, baseOffset: ack.baseOffset, lastOffset: ack.lastOffset };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** One result per partition: the first base offset and the last offset of its batches. */
function mergeAcks(acks: ProduceResult[]): ProduceResult[] {
  if (acks.length <= 1) return acks;
  const byPartition = new Map<number, ProduceResult>();
  for (const a of acks) {
    const prev = byPartition.get(a.partition);
    if (prev === undefined) byPartition.set(a.partition, { ...a });
    else {
      prev.baseOffset = Math.min(prev.baseOffset, a.baseOffset);
      prev.lastOffset = Math.max(prev.lastOffset, a.lastOffset);
    }
  }
  return [...byPartition.values()].sort((a, b) => a.partition - b.partition);
}
