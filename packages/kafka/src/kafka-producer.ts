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
import type { KafkaCluster, KafkaLogOptions } from "./kafka-cluster.js";
import { isRetriable, type ProducerIdentity, RecordBatchSender } from "./record-batch-sender.js";
import { recordsByPartition } from "./records-by-partition.js";

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
 * Sends run one at a time per producer: the idempotent sequence numbers of a partition are
 * advanced when a send completes, so two sends in flight to one partition would reuse a
 * sequence and the broker would refuse the second.
 */
export class KafkaProducer implements Producer {
  private readonly sticky = new StickyPartitioner();
  private readonly pool: ConnectionPool;
  private readonly sender: RecordBatchSender;
  private identity: Promise<ProducerIdentity> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
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
    const byPartition = recordsByPartition(topic, info, records, this.sticky);
    try {
      return await this.sender.send(topic, info, byPartition);
    } catch (err) {
      throw fromKafkaError(err, `send to '${topic}'`, topic);
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
    await this.queue;
    await this.pool.close();
  }
}

/**
 * A producer's connections of its own: a Kafka broker answers one connection's requests in
 * order, so Produce waits on no one else's request. A request gets the timeout Kafka is
 * given to answer (timeout_ms) plus 5 s, so the broker's own timeout answers first.
 */
export function producerPool(cluster: KafkaCluster, clientId: string): ConnectionPool {
  return cluster.newPool(5_000, clientId);
}
