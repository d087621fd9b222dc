import { type ConnectionPool, ProtocolError as KafkaProtocolError } from "@platformatic/kafka";
import {
  encodeBatch,
  type ProduceResult,
  type ProducerRecord,
  RecordBatch,
  retryWithBackoff,
  stampProducer,
  TRANSACTIONAL_FLAG,
} from "@tributary/log";
import { MAX_ENCODED_BATCH_BYTES, recordsOf } from "./encoded-batches.js";
import type { KafkaCluster, TopicInfo } from "./kafka-cluster.js";
import { type PartitionBatch, produceBatches } from "./produce-request.js";

/** The producer id and epoch an idempotent or transactional producer writes into its batches. */
export interface ProducerIdentity {
  producerId: number;
  producerEpoch: number;
}

export interface RecordBatchSenderOptions {
  /** Written into each Produce request; its batches then carry the transactional bit. */
  transactionalId: string | null;
  timeoutMs: number;
  /** The identity for the next batches (InitProducerId runs here when there is none yet). */
  identity(): Promise<ProducerIdentity>;
  /**
   * Forgets the identity whose sequences Kafka no longer matches (OUT_OF_ORDER_SEQUENCE_NUMBER,
   * UNKNOWN_PRODUCER_ID) or whose last batch may or may not have been written (retries ran
   * out on a lost answer), so the next batches start a fresh producer id at sequence 0, as
   * Kafka's Java producer does for an idempotent producer (KIP-360). Absent (transactional),
   * such errors are thrown and the transaction must be aborted; a batch whose answer was
   * lost then counts as written (reusing its sequence for other records could have Kafka
   * take them for the lost batch's retry and drop them, silently), and the transactional
   * producer bumps its epoch after the abort (KafkaTransactionalProducer.bumpEpoch), which
   * changes the identity and so restarts every partition at sequence 0.
   */
  resetIdentity?(): void;
  /** Runs before `partitions` of `info` get their first records (AddPartitionsToTxn). */
  beforeProduce?(info: TopicInfo, partitions: readonly number[]): Promise<void>;
}

/**
 * The most record bytes one batch holds. Kafka refuses a batch over the topic's
 * max.message.bytes (1 MiB by default) as RECORD_TOO_LARGE, and a LogClient send of any
 * length must go through, so larger sends are split; half the default leaves room for a
 * topic configured a little lower.
 */
const MAX_BATCH_BYTES = 512 * 1024;
/** A record's framing in a batch beyond its key, value and headers (varints, attributes). */
const RECORD_OVERHEAD_BYTES = 24;
/** Kafka's sequence numbers are int32 and wrap to 0 after 2^31 - 1. */
const SEQUENCE_WRAP = 2 ** 31;
/** Errors after which this producer id's sequences on the partition are unknown. */
const SEQUENCE_LOST = new Set(["OUT_OF_ORDER_SEQUENCE_NUMBER", "UNKNOWN_PRODUCER_ID"]);

/** One topic's records of a send, per partition in send order. */
export interface TopicRecords {
  topic: string;
  info: TopicInfo;
  byPartition: Map<number, ProducerRecord[]>;
  /**
   * Or (sendEncoded, byPartition then empty): per partition, batches the caller encoded,
   * in order; each is sent as it is, stamped with the producer's fields.
   */
  encoded?: Map<number, Buffer[]>;
}

/** One partition's records in a chunk: what one batch of a request carries. */
interface Slot {
  topic: string;
  info: TopicInfo;
  partition: number;
  /** The records to encode, or null when `encoded` holds them. */
  records: ProducerRecord[] | null;
  /** A batch encoded by the caller, stamped here (its producer fields and CRC). */
  encoded: Buffer | null;
  count: number;
  /** seqKey of the partition: its sequence's key, and how its answer is found. */
  key: string;
}

/** A batch Kafka acknowledged: the offset of its first record, and how many it held. */
export interface AckedBatch {
  baseOffset: number;
  count: number;
}

/** Per partition, its batches of a send as acknowledged, in order. */
export type PartitionAcks = Map<number, AckedBatch[]>;

type Acked = Map<string, AckedBatch>;

/**
 * Sends a producer's records to Kafka as record batches it encodes itself (@tributary/log's
 * encodeBatch, Kafka's v2 format) in Produce requests (produce-request.ts), one request
 * per partition leader carrying every topic's batches for it. Responsible for: splitting a
 * send into batches of at most MAX_BATCH_BYTES per partition, the idempotent sequence
 * number of every partition, and retrying what Kafka refused for a passing reason (a moved
 * leader, too few replicas, a lost connection) with the same bytes, so the broker drops a
 * batch it already has.
 *
 * One send at a time (the producers queue them, and merge what queued: KafkaProducer): a
 * partition's sequence advances when its batch is acknowledged, so two batches in flight to
 * one partition would share a sequence.
 */
export class RecordBatchSender {
  /** Next sequence per partition (`topic\0partition` on the wire), for `sequencesOf`. */
  private readonly sequences = new Map<string, number>();
  private sequencesOf: ProducerIdentity | undefined;
  private version: number | undefined;
  /** Produce requests sent (retries included): how well queued sends were merged. */
  requests = 0;

  constructor(
    private readonly cluster: KafkaCluster,
    private readonly pool: ConnectionPool,
    private readonly options: RecordBatchSenderOptions,
  ) {}

  /**
   * Sends `byPartition` (one topic's records per partition, in order) and merges the acks.
   * Throws the Kafka client's error as it is (the producers name the operation).
   */
  async send(
    topic: string,
    info: TopicInfo,
    byPartition: Map<number, ProducerRecord[]>,
  ): Promise<ProduceResult[]> {
    const [acks] = await this.sendTopics([{ topic, info, byPartition }]);
    return resultsOf(topic, acks!);
  }

  /** `send` for batches the caller encoded (`encoded`: per partition, in order). */
  async sendEncoded(
    topic: string,
    info: TopicInfo,
    encoded: Map<number, Buffer[]>,
  ): Promise<ProduceResult[]> {
    const [acks] = await this.sendTopics([{ topic, info, byPartition: new Map(), encoded }]);
    return resultsOf(topic, acks!);
  }

  /**
   * Sends several topics' records together (each leader gets one request per chunk with
   * all of them) and returns, in the order of `topics`, each partition's acknowledged
   * batches in order (a partition's records split into several batches go in successive
   * requests, so other producers' records may lie between them). A topic must appear once.
   */
  async sendTopics(topics: readonly TopicRecords[]): Promise<PartitionAcks[]> {
    const now = Date.now();
    for (const t of topics) await this.options.beforeProduce?.(t.info, partitionsOf(t));
    const bySlot = new Map<string, AckedBatch[]>();
    for (const chunk of splitIntoBatches(topics)) {
      const acked = await this.sendChunk(chunk, now);
      for (const slot of chunk) {
        const batch = acked.get(slot.key)!;
        const list = bySlot.get(slot.key);
        if (list === undefined) bySlot.set(slot.key, [batch]);
        else list.push(batch);
      }
    }
    return topics.map((t) => {
      const acks: PartitionAcks = new Map();
      for (const partition of partitionsOf(t)) {
        acks.set(partition, bySlot.get(seqKey(t.info.wireName, partition))!);
      }
      return acks;
    });
  }

  /** One batch per partition of `chunk`, sent until acknowledged or failed for good. */
  private async sendChunk(chunk: readonly Slot[], now: number): Promise<Acked> {
    const acked: Acked = new Map();
    const slots = new Map(chunk.map((s) => [s.key, s]));
    let encodedFor: ProducerIdentity | undefined;
    let batches = new Map<string, Buffer>();
    const leaders = new Map(chunk.map((s) => [s.topic, s.info.leaders]));
    let refresh = false;
    /** Partitions whose answer the last attempt lost: their batches may or may not be in the log. */
    let uncertain: Slot[] = [];
    await retryWithBackoff(
      async () => {
        uncertain = [];
        const identity = await this.options.identity();
        if (
          encodedFor === undefined ||
          encodedFor.producerId !== identity.producerId ||
          encodedFor.producerEpoch !== identity.producerEpoch
        ) {
          // First attempt, or a fresh producer id after a reset: (re-)encode what is left.
          this.useSequencesOf(identity);
          encodedFor = identity;
          batches = new Map();
          for (const s of chunk) {
            if (acked.has(s.key)) continue;
            const producer = {
              producerId: identity.producerId,
              producerEpoch: identity.producerEpoch,
              baseSequence: this.sequences.get(s.key) ?? 0,
              attributes: this.options.transactionalId !== null ? TRANSACTIONAL_FLAG : 0,
            };
            // A caller's batch is stamped in place (CRC included) only here, when its
            // producer fields change: a retry resends the very bytes.
            if (s.encoded !== null) stampProducer(s.encoded, producer);
            batches.set(s.key, s.encoded ?? encodeBatch(s.records!, { now, ...producer }));
          }
        }
        if (refresh) {
          for (const topic of leaders.keys()) {
            leaders.set(topic, (await this.cluster.topic(topic, true)).leaders);
          }
        }
        const byLeader = new Map<number, Slot[]>();
        for (const s of chunk) {
          if (acked.has(s.key)) continue;
          const leader = leaders.get(s.topic)![s.partition] ?? -1;
          const list = byLeader.get(leader);
          if (list === undefined) byLeader.set(leader, [s]);
          else list.push(s);
        }
        const errors: unknown[] = [];
        await Promise.all(
          [...byLeader].map(async ([leader, list]) => {
            try {
              await this.produceTo(leader, list, batches, slots, acked, errors);
            } catch (err) {
              if (isConnectionError(err)) uncertain.push(...list);
              errors.push(err);
            }
          }),
        );
        if (errors.length === 0) return;
        refresh = true;
        this.cluster.invalidate();
        // A refusal that no retry cures decides; else any (they are all retried).
        throw errors.find((e) => !isRetriable(e)) ?? errors[0];
      },
      {
        retryIf: (err) => {
          const id = (err as { apiId?: string }).apiId;
          if (id !== undefined && SEQUENCE_LOST.has(id)) {
            if (this.options.resetIdentity === undefined) return false;
            this.options.resetIdentity();
            return true;
          }
          return isRetriable(err);
        },
        initialDelayMs: 100,
        maxDelayMs: 1000,
        timeoutMs: this.options.timeoutMs,
      },
    ).catch((err) => {
      // Whether the last batches were written is unknown: their sequences cannot be reused.
      if (uncertain.length > 0 && this.options.resetIdentity !== undefined) {
        this.options.resetIdentity();
      } else {
        for (const s of uncertain) this.advance(s.key, s.count);
      }
      throw err;
    });
    return acked;
  }

  /** One Produce request to `leader` with `list`'s batches; acknowledged ones go into `acked`. */
  private async produceTo(
    leader: number,
    list: readonly Slot[],
    batches: Map<string, Buffer>,
    slots: Map<string, Slot>,
    acked: Acked,
    errors: unknown[],
  ): Promise<void> {
    // A partition of a topic just created, or whose leader just failed, has none yet (-1).
    if (leader < 0) throw new KafkaProtocolError("LEADER_NOT_AVAILABLE");
    this.version ??= await this.cluster.apiVersion("Produce");
    const connection = await this.cluster.node(leader, this.pool);
    const byTopic = new Map<string, PartitionBatch[]>();
    for (const s of list) {
      const batch = { partition: s.partition, batch: batches.get(s.key)! };
      const topicBatches = byTopic.get(s.info.wireName);
      if (topicBatches === undefined) byTopic.set(s.info.wireName, [batch]);
      else topicBatches.push(batch);
    }
    this.requests++;
    const response = await produceBatches(
      connection,
      this.version,
      this.options.transactionalId,
      this.options.timeoutMs,
      [...byTopic].map(([name, batches]) => ({ name, batches })),
    );
    let answered = 0;
    for (const t of response.responses) {
      for (const p of t.partitionResponses) {
        const slot = slots.get(seqKey(t.name, p.index));
        if (slot === undefined) continue; // not asked for: nothing of ours to settle
        answered++;
        if (p.errorCode !== 0) {
          errors.push(new KafkaProtocolError(p.errorCode, p.errorMessage));
          continue;
        }
        acked.set(slot.key, { baseOffset: Number(p.baseOffset), count: slot.count });
        this.advance(slot.key, slot.count);
      }
    }
    // An answer missing a partition it was sent: whether that batch was written is unknown.
    if (answered < list.length) errors.push(new KafkaProtocolError("UNKNOWN_SERVER_ERROR"));
  }

  private advance(key: string, count: number): void {
    this.sequences.set(key, ((this.sequences.get(key) ?? 0) + count) % SEQUENCE_WRAP);
  }

  /** Sequences belong to one producer id and epoch: a new one starts every partition at 0. */
  private useSequencesOf(identity: ProducerIdentity): void {
    const last = this.sequencesOf;
    if (
      last === undefined ||
      last.producerId !== identity.producerId ||
      last.producerEpoch !== identity.producerEpoch
    ) {
      this.sequences.clear();
      this.sequencesOf = identity;
    }
  }
}

/** One send's acks as its result: per partition, its first and last record's offsets. */
function resultsOf(topic: string, acks: PartitionAcks): ProduceResult[] {
  const results: ProduceResult[] = [];
  for (const [partition, segments] of acks) {
    const last = segments[segments.length - 1]!;
    results.push({
      topic,
      partition,
      baseOffset: segments[0]!.baseOffset,
      lastOffset: last.baseOffset + last.count - 1,
    });
  }
  return results.sort((a, b) => a.partition - b.partition);
}

/** The partitions a topic's send writes to. */
function partitionsOf(t: TopicRecords): number[] {
  return [...(t.encoded ?? t.byPartition).keys()];
}

function seqKey(wireTopic: string, partition: number): string {
  return `${wireTopic}\u0000${partition}`;
}

/**
 * A broker's refusal says whether it is passing (a moved leader, too few replicas); a lost
 * connection or timeout is retried with the same bytes, which the broker deduplicates.
 */
export function isRetriable(err: unknown): boolean {
  const e = err as KafkaClientError | null | undefined;
  if (e === null || typeof e !== "object") return false;
  if (typeof e.apiId === "string") return e.canRetry === true;
  if (e.code === "PLT_KFK_NETWORK" || e.code === "PLT_KFK_TIMEOUT") return true;
  return [...(e.errors ?? []), e.cause].some(isRetriable);
}

/** A network failure or timeout of the Kafka client (its codes), somewhere in `err`. */
function isConnectionError(err: unknown): boolean {
  const e = err as KafkaClientError | null | undefined;
  if (e === null || typeof e !== "object") return false;
  if (e.code === "PLT_KFK_NETWORK" || e.code === "PLT_KFK_TIMEOUT") return true;
  return [...(e.errors ?? []), e.cause].some(isConnectionError);
}

interface KafkaClientError {
  apiId?: string;
  canRetry?: boolean;
  code?: string;
  errors?: unknown[];
  cause?: unknown;
}

/**
 * Splits each partition's records into batches of at most MAX_BATCH_BYTES and returns them
 * as chunks: chunk i holds each partition's i-th batch (Kafka takes one batch per partition
 * in an idempotent Produce request, so a partition's next batch goes in the next request).
 */
function splitIntoBatches(topics: readonly TopicRecords[]): Slot[][] {
  const chunks: Slot[][] = [];
  const add = (i: number, t: TopicRecords, partition: number, batch: ProducerRecord[] | Buffer) => {
    while (chunks.length <= i) chunks.push([]);
    const key = seqKey(t.info.wireName, partition);
    const encoded = Buffer.isBuffer(batch) ? batch : null;
    const records = encoded === null ? (batch as ProducerRecord[]) : null;
    const count = records?.length ?? new RecordBatch(encoded!).recordCount;
    chunks[i]!.push({ topic: t.topic, info: t.info, partition, records, encoded, count, key });
  };
  /** Adds `records` as batches from chunk `i` on; returns the chunk after the last. */
  const addRecords = (i: number, t: TopicRecords, partition: number, records: ProducerRecord[]) => {
    let start = 0;
    let bytes = 0;
    for (let r = 0; r < records.length; r++) {
      const size = recordBytes(records[r]!);
      if (bytes > 0 && bytes + size > MAX_BATCH_BYTES) {
        add(i++, t, partition, records.slice(start, r));
        start = r;
        bytes = 0;
      }
      bytes += size;
    }
    add(i, t, partition, start === 0 ? records : records.slice(start));
    return i + 1;
  };
  for (const t of topics) {
    for (const [partition, records] of t.byPartition) addRecords(0, t, partition, records);
    for (const [partition, batches] of t.encoded ?? []) {
      let i = 0;
      for (const b of batches) {
        if (b.length <= MAX_ENCODED_BATCH_BYTES) add(i++, t, partition, b);
        else i = addRecords(i, t, partition, recordsOf(b));
      }
    }
  }
  return chunks;
}

function recordBytes(r: ProducerRecord): number {
  let n = RECORD_OVERHEAD_BYTES + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  if (r.headers !== undefined) {
    for (const k in r.headers) {
      const v = r.headers[k]!;
      n += k.length * 3 + (typeof v === "string" ? v.length * 3 : v.length) + 4;
    }
  }
  return n;
}
