import { type ConnectionPool, Producer as KafkaClientProducer } from "@platformatic/kafka";
import {
  ClosedError,
  type CommittedOffset,
  type ConsumerGroupMetadata,
  InvalidArgumentError,
  type ProduceResult,
  ProducerFencedError,
  type ProducerRecord,
  StickyPartitioner,
  TransactionError,
  type TransactionalProducer,
  type TransactionalProducerOptions,
  retryWithBackoff,
} from "@tributary/log";
import { fromKafkaError, kafkaErrorId } from "./errors.js";
import type { KafkaCluster, KafkaLogOptions, TopicInfo } from "./kafka-cluster.js";
import { producerPool } from "./kafka-producer.js";
import { offsetCommitTopics } from "./offset-commit-topics.js";
import { isRetriable, type ProducerIdentity, RecordBatchSender } from "./record-batch-sender.js";
import { recordsByPartition } from "./records-by-partition.js";
import { checkEncodedBatch, type EncodedBatch } from "./encoded-batches.js";

/** How long initTransactions waits for Kafka to have a transaction coordinator. */
const COORDINATOR_WAIT_MS = 60_000;
/**
 * LogClient's TransactionalProducer over Kafka's transactions, through the Kafka client's
 * transactional producer (InitProducerId, AddPartitionsToTxn, EndTxn) plus
 * AddOffsetsToTxn and TxnOffsetCommit sent here for `sendOffsets`, which takes a
 * Tributary consumer's group metadata rather than the client's own consumer.
 *
 * The records themselves go as KafkaProducer sends them (RecordBatchSender: batches encoded
 * by @tributary/log with the client's producer id and epoch and the transactional bit, in
 * Produce requests naming the transactional id), after the client's transaction has added
 * their partitions (AddPartitionsToTxn). Partitions are chosen as KafkaProducer chooses
 * them (murmur2, sticky), so a record lands where it would outside a transaction. Calls run
 * one at a time.
 */
/** The Kafka client's open transaction (its class is not exported by name). */
type Transaction = Awaited<ReturnType<KafkaClientProducer["beginTransaction"]>>;

export class KafkaTransactionalProducer implements TransactionalProducer {
  private readonly producer: KafkaClientProducer;
  private readonly pool: ConnectionPool;
  private readonly sender: RecordBatchSender;
  private readonly sticky = new StickyPartitioner();
  private readonly transactionalId: string;
  private transaction: Transaction | undefined;
  private initialized = false;
  /** A send of the open transaction failed: it can only be aborted (then the epoch bumps). */
  private failedSend: unknown;
  /**
   * The epoch must be bumped before the next transaction: an abort after a failed send, or
   * a commit or abort that failed, and the bump has not succeeded yet.
   */
  private epochBumpNeeded = false;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly cluster: KafkaCluster,
    options: KafkaLogOptions,
    clientId: string,
    producerOptions: TransactionalProducerOptions,
  ) {
    if (
      typeof producerOptions.transactionalId !== "string" ||
      producerOptions.transactionalId.length === 0
    ) {
      throw new InvalidArgumentError("transactionalProducer needs a non-empty transactionalId");
    }
    // The transactional id is namespaced like topics and groups, so tests sharing a
    // cluster never fence each other.
    this.transactionalId = cluster.wire(producerOptions.transactionalId);
    const timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.producer = new KafkaClientProducer({
      clientId,
      bootstrapBrokers: cluster.brokers,
      idempotent: true,
      acks: -1 as const,
      autocreateTopics: false,
      timeout: timeoutMs,
      retries: 5,
      retryDelay: 100,
      ...cluster.security.connectionOptions(),
      transactionalId: this.transactionalId,
    });
    this.pool = producerPool(cluster, clientId);
    this.sender = new RecordBatchSender(cluster, this.pool, {
      transactionalId: this.transactionalId,
      timeoutMs,
      identity: async () => this.identity(),
      beforeProduce: (info, partitions) => this.addPartitions(info, partitions),
    });
  }

  initTransactions(): Promise<void> {
    return this.serial(async () => {
      // The client sends InitProducerId when a transaction first begins: begin one and
      // drop it locally (nothing was sent in it), which fences every older instance and
      // makes Kafka abort what one left open.
      // A new instance must say "no producer id yet" (-1/-1, KIP-360): the Kafka client
      // 1.x sends 0/0 unless told, which Kafka refuses with PRODUCER_FENCED once another
      // instance has used the transactional id.
      // The first transactional producer on a cluster finds no coordinator until Kafka has
      // made __transaction_state (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS: retriable),
      // longer than the client's own few quick retries last.
      const t = await this.call("init transactions", () =>
        retryWithBackoff(() => this.clientBegin({ producerId: -1n, producerEpoch: -1 }), {
          retryIf: isRetriable,
          initialDelayMs: 200,
          maxDelayMs: 2000,
          timeoutMs: COORDINATOR_WAIT_MS,
        }),
      );
      await t.cancel();
      this.initialized = true;
    });
  }

  /**
   * The client's beginTransaction, minus its one trap: it keeps the transaction it made
   * when FindCoordinator or InitProducerId fails, so every later begin (a retry too) is
   * refused with "There is already an active transaction". That made initTransactions
   * fail for good when the first attempt met a coordinator still loading (a cluster's
   * first transactional producer); the half-made transaction is dropped here instead.
   */
  private async clientBegin(options?: { producerId: bigint; producerEpoch: number }) {
    try {
      return await this.producer.beginTransaction(options);
    } catch (err) {
      await this.producer.transaction?.cancel();
      throw err;
    }
  }

  beginTransaction(): Promise<void> {
    return this.serial(async () => {
      this.checkReady();
      if (this.transaction !== undefined) {
        throw new TransactionError(
          "INVALID_TXN_STATE",
          `producer '${this.transactionalId}' already has an open transaction: commit or abort it first`,
        );
      }
      if (this.epochBumpNeeded) await this.bumpEpoch();
      this.transaction = await this.call("begin a transaction", () => this.clientBegin());
      this.failedSend = undefined;
    });
  }

  send(topic: string, records: readonly ProducerRecord[]): Promise<ProduceResult[]> {
    return this.sendVia(topic, records.length === 0, (info) => {
      const byPartition = recordsByPartition(topic, info, records, this.sticky);
      return () => this.sender.send(topic, info, byPartition);
    });
  }

  /**
   * `send` for batches the caller encoded (KafkaProducer.sendEncoded): their partitions
   * join the transaction first (AddPartitionsToTxn), and each batch is stamped with the
   * producer id, epoch, sequence and the transactional bit.
   */
  sendEncoded(topic: string, batches: readonly EncodedBatch[]): Promise<ProduceResult[]> {
    return this.sendVia(topic, batches.length === 0, (info) => {
      const encoded = encodedByPartition(topic, info, batches);
      return () => this.sender.sendEncoded(topic, info, encoded);
    });
  }

  /**
   * One send in the open transaction: `prepare` checks the call (a bad partition fails it
   * alone, the transaction unharmed) and returns what sends it.
   */
  private sendVia(
    topic: string,
    empty: boolean,
    prepare: (info: TopicInfo) => () => Promise<ProduceResult[]>,
  ): Promise<ProduceResult[]> {
    return this.serial(async () => {
      this.open("send");
      this.cluster.checkTopicName(topic);
      if (empty) return [];
      const info = await this.cluster.topic(topic);
      const prepared = prepare(info);
      try {
        return await this.call(`send to '${topic}'`, prepared);
      } catch (err) {
        // The partitions' sequences may no longer match Kafka's (a batch whose answer was
        // lost counts as written, see RecordBatchSender): only an abort and a new epoch
        // set them right, and committing would publish the transaction without this send.
        this.failedSend = err;
        throw err;
      }
    });
  }

  /** The client's producer id and epoch, which InitProducerId gave it in initTransactions. */
  private identity(): ProducerIdentity {
    const producerId = this.producer.producerId;
    const producerEpoch = this.producer.producerEpoch;
    if (producerId === undefined || producerEpoch === undefined) {
      throw new TransactionError(
        "INVALID_TXN_STATE",
        `producer '${this.transactionalId}' has no producer id yet: call initTransactions() first`,
      );
    }
    return { producerId: Number(producerId), producerEpoch };
  }

  /** AddPartitionsToTxn through the client's transaction, which remembers what it added. */
  private async addPartitions(info: TopicInfo, partitions: readonly number[]): Promise<void> {
    const t = this.open("send");
    const metadata = { topics: new Map([[info.wireName, { partitionsCount: info.partitions }]]) };
    await t.addPartitions(
      metadata as unknown as Parameters<Transaction["addPartitions"]>[0],
      partitions.map((partition) => ({ topic: info.wireName, partition })) as Parameters<
        Transaction["addPartitions"]
      >[1],
    );
  }

  sendOffsets(offsets: readonly CommittedOffset[], group: ConsumerGroupMetadata): Promise<void> {
    return this.serial(async () => {
      this.open("sendOffsets");
      if (offsets.length === 0) return;
      const wireGroupId = this.cluster.wire(group.groupId);
      const identity = this.identity();
      const producerId = BigInt(identity.producerId);
      const producerEpoch = identity.producerEpoch;
      const addOffsets = await this.cluster.api("AddOffsetsToTxn");
      await this.call("add the group's offsets to the transaction", () =>
        this.cluster.onTransactionCoordinator(this.transactionalId, (c) =>
          addOffsets(c, this.transactionalId, producerId, producerEpoch, wireGroupId),
        ),
      );
      const topics = offsetCommitTopics(this.cluster, offsets);
      const txnOffsetCommit = await this.cluster.api("TxnOffsetCommit");
      await this.call(`commit offsets of group '${group.groupId}' in the transaction`, () =>
        this.cluster.onCoordinator(wireGroupId, (c) =>
          txnOffsetCommit(
            c,
            this.transactionalId,
            wireGroupId,
            producerId,
            producerEpoch,
            group.generation,
            group.memberId,
            group.groupInstanceId ?? null,
            topics,
          ),
        ),
      );
    });
  }

  commitTransaction(): Promise<void> {
    return this.end(true);
  }

  abortTransaction(): Promise<void> {
    return this.end(false);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await Promise.all([this.producer.close(), this.pool.close()]);
  }

  private end(commit: boolean): Promise<void> {
    return this.serial(async () => {
      const t = this.open(commit ? "commitTransaction" : "abortTransaction");
      if (commit && this.failedSend !== undefined) {
        // A fenced producer stays fenced, whatever it calls.
        if (this.failedSend instanceof ProducerFencedError)
          throw this.fenced("commit the transaction");
        throw new TransactionError(
          "INVALID_TXN_STATE",
          `commitTransaction on producer '${this.transactionalId}': a send in this transaction failed, so committing would lose its records: abort the transaction and retry it`,
        );
      }
      try {
        await this.call(`${commit ? "commit" : "abort"} the transaction`, () =>
          commit ? t.commit() : t.abort(),
        );
      } catch (err) {
        // The client keeps a transaction whose EndTxn failed, and would refuse every later
        // begin ("There is already an active transaction"): drop it. Whether Kafka ended
        // the transaction is unknown; the epoch bump before the next one settles it (an
        // InitProducerId with the current epoch aborts an open transaction, or waits for
        // an ending one to finish).
        if (this.producer.transaction === t) await t.cancel();
        this.epochBumpNeeded = true;
        throw err;
      } finally {
        this.transaction = undefined;
      }
      if (!commit && this.failedSend !== undefined) {
        this.epochBumpNeeded = true;
        this.failedSend = undefined;
        await this.bumpEpoch();
      }
    });
  }

  /**
   * KIP-360's epoch bump, as Kafka's Java producer does after aborting a transaction that
   * had a failed send: InitProducerId with the current producer id and epoch makes the
   * coordinator hand out the next epoch (or a new id when the epoch is exhausted), and
   * sequences start again at 0 on every partition. Without it a batch that was counted as
   * written but never reached the log leaves the partition's next batch refused as
   * OUT_OF_ORDER_SEQUENCE_NUMBER in every later transaction until the producer is recreated.
   * The client sends InitProducerId only inside a transaction it is beginning (to find
   * the coordinator), so one is begun and dropped around it. Until this succeeds it is
   * tried again before the next transaction begins.
   */
  private async bumpEpoch(): Promise<void> {
    const { producerId, producerEpoch } = this.identity();
    await this.call("bump the producer epoch after an aborted transaction", () =>
      retryWithBackoff(
        async () => {
          const t = await this.clientBegin();
          try {
            await this.producer.initIdempotentProducer({
              producerId: BigInt(producerId),
              producerEpoch,
            });
          } finally {
            await t.cancel();
          }
        },
        // CONCURRENT_TRANSACTIONS until the coordinator has written the abort's markers.
        {
          retryIf: isRetriable,
          initialDelayMs: 100,
          maxDelayMs: 1000,
          timeoutMs: COORDINATOR_WAIT_MS,
        },
      ),
    );
    this.epochBumpNeeded = false;
  }

  private open(what: string): Transaction {
    this.checkReady();
    if (this.transaction === undefined) {
      throw new TransactionError(
        "INVALID_TXN_STATE",
        `${what} on producer '${this.transactionalId}' outside a transaction: call beginTransaction() first`,
      );
    }
    return this.transaction;
  }

  private checkReady(): void {
    if (this.closed) throw new ClosedError("transactional producer");
    if (!this.initialized) {
      throw new TransactionError(
        "INVALID_TXN_STATE",
        `producer '${this.transactionalId}' is not initialized: call initTransactions() first`,
      );
    }
  }

  /** Runs a client call; Kafka's fencing errors become PRODUCER_FENCED, the rest as usual. */
  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      const id = kafkaErrorId(err);
      if (id === "PRODUCER_FENCED" || id === "INVALID_PRODUCER_EPOCH") throw this.fenced(what);
      throw fromKafkaError(err, what);
    }
  }

  private fenced(what: string): ProducerFencedError {
    return new ProducerFencedError(
      `${what}: producer '${this.transactionalId}' was fenced by a newer instance with the same transactional id (or its transaction timed out): close it`,
    );
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** A sendEncoded's batches per partition, in order, each checked (encoded-batches.ts). */
function encodedByPartition(
  topic: string,
  info: TopicInfo,
  batches: readonly EncodedBatch[],
): Map<number, Buffer[]> {
  const out = new Map<number, Buffer[]>();
  for (const b of batches) {
    checkEncodedBatch(topic, info, b);
    const list = out.get(b.partition);
    if (list === undefined) out.set(b.partition, [b.batch]);
    else list.push(b.batch);
  }
  return out;
}
