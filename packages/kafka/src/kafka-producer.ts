import { Producer as KafkaJsProducer, type MessageToProduce } from "@platformatic/kafka";
import {
  ClosedError,
  type Producer,
  type ProduceResult,
  type ProducerRecord,
  StickyPartitioner,
} from "@tributary/log";
import { fromKafkaError } from "./errors.js";
import { kafkaMessages } from "./kafka-messages.js";
import type { KafkaCluster, KafkaLogOptions } from "./kafka-cluster.js";

/**
 * LogClient's Producer over Kafka: idempotent (the broker drops a retried batch it already
 * has, so a retry after a lost answer writes no duplicate), acks=all (an acknowledged
 * record is on every in-sync replica).
 *
 * The partition is chosen here, not by the Kafka client, with @tributary/log's
 * partitionForKey (murmur2, Kafka's Java formula) and sticky partitioner, so a keyed
 * record lands where Kafka's Java producer and the embedded log put it. Explicit
 * partitions are honoured and checked against the topic's partition count (the Kafka
 * client would silently wrap them).
 *
 * Sends run one at a time per producer: the idempotent sequence numbers of a partition are
 * advanced when a send completes, so two sends in flight to one partition would reuse a
 * sequence and the broker would refuse the second.
 */
export class KafkaProducer implements Producer {
  private readonly producer: KafkaJsProducer;
  private readonly sticky = new StickyPartitioner();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly cluster: KafkaCluster,
    options: KafkaLogOptions,
    clientId: string,
  ) {
    this.producer = new KafkaJsProducer(kafkaClientProducerOptions(cluster, options, clientId));
  }

  send(topic: string, records: readonly ProducerRecord[]): Promise<ProduceResult[]> {
    if (this.closed) return Promise.reject(new ClosedError("producer"));
    const run = this.queue.then(() => this.sendNow(topic, records));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async sendNow(
    topic: string,
    records: readonly ProducerRecord[],
  ): Promise<ProduceResult[]> {
    this.cluster.checkTopicName(topic);
    if (records.length === 0) return [];
    const info = await this.cluster.topic(topic);
    const messages = kafkaMessages(topic, info, records, this.sticky);
    return sendInChunks(topic, messages, async (chunk) => {
      try {
        return await this.producer.send({ messages: chunk });
      } catch (err) {
        // A leader may have moved: the next send starts from fresh metadata.
        this.cluster.invalidate();
        throw fromKafkaError(err, `send to '${topic}'`, topic);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.producer.close();
  }
}

/** The Kafka client producer's settings: idempotent, acks=all, no auto-created topics. */
export function kafkaClientProducerOptions(
  cluster: KafkaCluster,
  options: KafkaLogOptions,
  clientId: string,
) {
  return {
    clientId,
    bootstrapBrokers: cluster.brokers,
    idempotent: true,
    acks: -1 as const,
    autocreateTopics: false,
    timeout: options.requestTimeoutMs ?? 30_000,
    retries: 5,
    retryDelay: 100,
    ...cluster.security.connectionOptions(),
  };
}

/**
 * Sends `messages` (of one topic) as timestampSafeChunks, one after another, and merges
 * the acks into one result per partition: its first base offset and last offset.
 */
export async function sendInChunks(
  topic: string,
  messages: MessageToProduce[],
  send: (
    chunk: MessageToProduce[],
  ) => Promise<{ offsets?: { partition: number; offset: bigint }[] }>,
): Promise<ProduceResult[]> {
  const first = new Map<number, ProduceResult>();
  const last = new Map<number, ProduceResult>();
  for (const chunk of timestampSafeChunks(messages)) {
    const result = await send(chunk.messages);
    for (const o of result.offsets ?? []) {
      const count = chunk.counts.get(o.partition) ?? 1;
      const baseOffset = Number(o.offset);
      const row = { topic, partition: o.partition, baseOffset, lastOffset: baseOffset + count - 1 };
      if (!first.has(o.partition)) first.set(o.partition, row);
      last.set(o.partition, row);
    }
  }
  const out = [...first.values()].map((f) => ({
    ...f,
    lastOffset: last.get(f.partition)!.lastOffset,
  }));
  return out.sort((a, b) => a.partition - b.partition);
}

/**
 * The largest timestamp distance from a batch's first record that @platformatic/kafka 1.x
 * encodes correctly. Its varint64 writer (@platformatic/dynamic-buffer 0.3) zigzags with a
 * 31-bit shift and stops at 32 bits, so a record whose timestamp is 2^31 ms (~25 days) or
 * more from its batch's first corrupts its timestamp for every reader, Java included.
 * Records further apart go in separate sends, hence separate batches.
 */
const MAX_SAFE_TIMESTAMP_DELTA = 2n ** 30n;

/**
 * The most record bytes one send puts in one partition's batch. Kafka refuses a batch over
 * the topic's max.message.bytes (1 MiB by default) as RECORD_TOO_LARGE, and a LogClient
 * send of any length must go through, so larger sends are split; half the default leaves
 * room for per-record framing and a topic configured a little lower.
 */
const MAX_BATCH_BYTES = 512 * 1024;
/** A record's framing in a batch beyond its key, value and headers (varints, attributes). */
const RECORD_OVERHEAD_BYTES = 24;

interface Chunk {
  messages: MessageToProduce[];
  /** Records per partition in this chunk. */
  counts: Map<number, number>;
}

/**
 * Splits `messages` (in order) where a partition's batch would span too wide a time range
 * or grow past MAX_BATCH_BYTES.
 */
function timestampSafeChunks(messages: MessageToProduce[]): Chunk[] {
  const chunks: Chunk[] = [];
  let current: Chunk = { messages: [], counts: new Map() };
  let firstTs = new Map<number, bigint>();
  let bytes = new Map<number, number>();
  for (const m of messages) {
    const p = m.partition!;
    const ts = m.timestamp!;
    const f = firstTs.get(p);
    const size = recordBytes(m);
    const b = bytes.get(p) ?? 0;
    if (
      (f !== undefined &&
        (ts - f > MAX_SAFE_TIMESTAMP_DELTA || f - ts > MAX_SAFE_TIMESTAMP_DELTA)) ||
      (b > 0 && b + size > MAX_BATCH_BYTES)
    ) {
      chunks.push(current);
      current = { messages: [], counts: new Map() };
      firstTs = new Map();
      bytes = new Map();
    }
    if (!firstTs.has(p)) firstTs.set(p, ts);
    bytes.set(p, (bytes.get(p) ?? 0) + size);
    current.messages.push(m);
    current.counts.set(p, (current.counts.get(p) ?? 0) + 1);
  }
  chunks.push(current);
  return chunks;
}

function recordBytes(m: MessageToProduce): number {
  let n = RECORD_OVERHEAD_BYTES + (m.key?.length ?? 0) + (m.value?.length ?? 0);
  if (m.headers !== undefined) {
    for (const [k, v] of m.headers as Map<Buffer, Buffer>) n += k.length + v.length + 4;
  }
  return n;
}
