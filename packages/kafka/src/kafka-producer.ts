import type { ConnectionPool } from "@platformatic/kafka";
import {
  ClosedError,
  type Producer,
  type ProduceResult,
  type ProducerRecord,
  retryWithBackoff,
  StickyPartitioner,
} from "@tributary/log";
import { fromKafkaError } from "./errors.js";
import type { KafkaCluster, KafkaLogOptions, TopicInfo } from "./kafka-cluster.js";
import {
  isRetriable,
  type ProducerIdentity,
  RecordBatchSender,
  type TopicRecords,
} from "./record-batch-sender.js";
import { type QueuedSend, mergeTopicSends, settleMerged } from "./merged-sends.js";
import { type EncodedBatch, mergeEncodedSends } from "./encoded-batches.js";

/**
 * The most record bytes (estimated) one round merges: a bound on a request's size (each
 * partition's records are still cut into batches of at most 512 KiB) when sends pile up.
 */
const MAX_ROUND_BYTES = 16 * 1024 * 1024;

/**
 * LogClient's Producer over Kafka: idempotent (the broker drops a retried batch it already
 * has, so a retry after a lost answer writes no duplicate), acks=all (an acknowledged
 * record is on every in-sync replica).
 *
 * The partition is chosen here with @tributary/log's partitionForKey (murmur2, Kafka's Java
 * formula) and sticky partitioner, so a keyed record lands where Kafka's Java producer and
 * the embedded log put it. Explicit partitions are checked against the topic's partition
 * count. The records are encoded into Kafka's record batches by @tributary/log's codec and
 * sent in Produce requests by RecordBatchSender, on connections of this producer's own.
 *
 * One round of sends in flight per producer (the idempotent sequence numbers of a partition
 * advance when its batch is acknowledged, so two batches in flight to one partition would
 * share a sequence), and, as Kafka's producer accumulates records while a request is in
 * flight, the sends made meanwhile are merged: the next round carries all of them, per
 * partition one batch of their records in call order, one Produce request per broker with
 * every topic's batches. Each send's acks are its own records' offsets. A send whose topic
 * or partition is wrong fails alone; a refusal of the round by Kafka fails every send in it
 * (it is told which topic's send it was, not which topic Kafka refused).
 *
 * `sendEncoded` takes batches the caller encoded (the streams collector's
 * RecordBatchBuilder batches) into the same queue: a round is all of records or all of
 * encoded batches, so neither kind overtakes the other, and the sender sends each batch's
 * bytes as they are, stamped with this producer's id, epoch and sequence
 * (encoded-batches.ts).
 */
export class KafkaProducer implements Producer {
  private readonly sticky = new StickyPartitioner();
  private readonly pool: ConnectionPool;
  private readonly sender: RecordBatchSender;
  private identity: Promise<ProducerIdentity> | undefined;
  /** Sends not yet in a round, in call order. */
  private pending: QueuedSend[] = [];
  /** The loop sending rounds while sends are pending; null when idle. */
  private draining: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly cluster: KafkaCluster,
    options: KafkaLogOptions,
    clientId: string,
  ) {
    const timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.pool = producerPool(cluster, clientId);
    this.sender = new RecordBatchSender(cluster, this.pool, {
      transactionalId: null,
      timeoutMs,
      identity: () => {
        // A failed InitProducerId is asked again on the next send.
        this.identity ??= this.initProducerId(timeoutMs).catch((err) => {
          this.identity = undefined;
          throw err;
        });
        return this.identity;
      },
      resetIdentity: () => {
        this.identity = undefined;
      },
    });
  }

  send(topic: string, records: readonly ProducerRecord[]): Promise<ProduceResult[]> {
    return this.enqueue(topic, records, undefined);
  }

  /**
   * Sends batches the caller encoded (RecordBatchBuilder), each to the partition the caller
   * chose as `send` would: queued and merged with the other sends, each batch stamped with
   * the producer id, epoch and its partition's sequence when its round goes out
   * (RecordBatchSender), so it is as idempotent as `send`'s and a retry resends its bytes.
   */
  sendEncoded(topic: string, batches: readonly EncodedBatch[]): Promise<ProduceResult[]> {
    return this.enqueue(topic, NO_RECORDS, batches);
  }

  private enqueue(
    topic: string,
    records: readonly ProducerRecord[],
    batches: readonly EncodedBatch[] | undefined,
  ): Promise<ProduceResult[]> {
    if (this.closed) return Promise.reject(new ClosedError("producer"));
    try {
      this.cluster.checkTopicName(topic);
    } catch (err) {
      return Promise.reject(err);
    }
    if (records.length === 0 && (batches === undefined || batches.length === 0)) {
      return Promise.resolve([]);
    }
    return new Promise((resolve, reject) => {
      this.pending.push(
        batches === undefined
          ? { topic, records, resolve, reject }
          : { topic, records, batches, resolve, reject },
      );
      this.draining ??= this.drain();
    });
  }

  /** Produce requests sent so far (Kafka's request-total), retries included. */
  get requests(): number {
    return this.sender.requests;
  }

  /** Sends rounds until nothing is pending; each round settles its own sends. */
  private async drain(): Promise<void> {
    // One microtask: sends made in the same tick (a worker's outputs to several topics)
    // join the first round instead of waiting for it.
    await undefined;
    while (this.pending.length > 0) {
      const round = this.takeRound();
      try {
        await this.sendRound(round);
      } catch (err) {
        // sendRound settles its sends itself; this is a bug's last line: no send may hang
        for (const send of round) send.reject(err);
      }
    }
    this.draining = null;
  }

  /**
   * The oldest pending sends, up to MAX_ROUND_BYTES (at least one), all of records or all
   * of encoded batches (a round merges each topic's sends one way, and a later send must
   * not overtake an earlier one of the other kind).
   */
  private takeRound(): QueuedSend[] {
    let bytes = 0;
    let n = 0;
    const encoded = this.pending[0]?.batches !== undefined;
    while (n < this.pending.length && (n === 0 || bytes < MAX_ROUND_BYTES)) {
      const send = this.pending[n]!;
      if ((send.batches !== undefined) !== encoded) break;
      bytes += estimatedBytes(send);
      n++;
    }
    return this.pending.splice(0, n);
  }

  private async sendRound(round: QueuedSend[]): Promise<void> {
    const byTopic = new Map<string, QueuedSend[]>();
    for (const s of round) {
      const list = byTopic.get(s.topic);
      if (list === undefined) byTopic.set(s.topic, [s]);
      else list.push(s);
    }
    const topics: TopicRecords[] = [];
    const merged: { sends: QueuedSend[]; topic: string }[] = [];
    for (const [topic, sends] of byTopic) {
      try {
        const info = await this.cluster.topic(topic);
        const fail = (s: QueuedSend, err: unknown) =>
          s.reject(fromKafkaError(err, `send to '${topic}'`, topic));
        const live = mergeSends(topic, info, sends, this.sticky, fail);
        if (live.sends.length === 0) continue;
        topics.push(live.records);
        merged.push({ sends: live.sends, topic });
      } catch (err) {
        for (const s of sends) s.reject(fromKafkaError(err, `send to '${topic}'`, topic));
      }
    }
    if (topics.length === 0) return;
    try {
      const acks = await this.sender.sendTopics(topics);
      for (let i = 0; i < merged.length; i++)
        settleMerged(merged[i]!.topic, merged[i]!.sends, acks[i]!);
    } catch (err) {
      for (const { sends, topic } of merged) {
        for (const s of sends) s.reject(fromKafkaError(err, `send to '${topic}'`, topic));
      }
    }
  }

  /** InitProducerId without a transactional id: any node hands out a fresh producer id. */
  private async initProducerId(timeoutMs: number): Promise<ProducerIdentity> {
    const init = await this.cluster.api<{ producerId: bigint; producerEpoch: number }>(
      "InitProducerId",
    );
    try {
      const r = await retryWithBackoff(
        async () => init(await this.cluster.anyNode(this.pool), null, timeoutMs, -1n, -1),
        {
          retryIf: isRetriable,
          initialDelayMs: 100,
          maxDelayMs: 1000,
          timeoutMs,
        },
      );
      return { producerId: Number(r.producerId), producerEpoch: r.producerEpoch };
    } catch (err) {
      throw fromKafkaError(err, "get a producer id (InitProducerId)");
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.draining;
    await this.pool.close();
  }
}

function estimatedBytes(send: QueuedSend): number {
  let n = 0;
  for (const r of send.records) n += 24 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const b of send.batches ?? []) n += b.batch.length;
  return n;
}

/** One topic's sends of a round (all of records, or all encoded) merged for the sender. */
function mergeSends(
  topic: string,
  info: TopicInfo,
  sends: readonly QueuedSend[],
  sticky: StickyPartitioner,
  fail: (send: QueuedSend, err: unknown) => void,
): { sends: QueuedSend[]; records: TopicRecords } {
  if (sends[0]!.batches === undefined) {
    const m = mergeTopicSends(info, sends, sticky, fail);
    return { sends: m.sends, records: { topic, info, byPartition: m.byPartition } };
  }
  const m = mergeEncodedSends(info, sends, fail);
  return { sends: m.sends, records: { topic, info, byPartition: new Map(), encoded: m.batches } };
}

const NO_RECORDS: readonly ProducerRecord[] = [];

/**
 * A producer's connections of its own: a Kafka broker answers one connection's requests in
 * order, so Produce waits on no one else's request. A request gets the timeout Kafka is
 * given to answer (timeout_ms) plus 5 s, so the broker's own timeout answers first.
 */
export function producerPool(cluster: KafkaCluster, clientId: string): ConnectionPool {
  return cluster.newPool(5_000, clientId);
}
