import { type API, type Connection, createAPI, type Reader, Writer } from "@platformatic/kafka";
import { readCompactArray, skipTaggedFields } from "./compact-array.js";
import { VersionedApi } from "./versioned-api.js";

/** One partition's finished record batch (Kafka's RecordBatch v2, encoded by @tributary/log). */
export interface PartitionBatch {
  partition: number;
  batch: Buffer;
}

/** One topic's batches in a Produce request (its name as on the cluster). */
export interface TopicBatches {
  name: string;
  batches: readonly PartitionBatch[];
}

/**
 * A Produce request (API key 0) that carries record batches Tributary encoded itself.
 *
 * Why not the Kafka client's Produce: @platformatic/kafka's request builder takes message
 * objects and encodes every record itself (createRecordsBatch through its DynamicBuffer),
 * with no way to hand it finished bytes, and that encoding was a quarter of the CPU of a
 * word count on Kafka plus much of its garbage (docs/benchmarks.md). Only the request body
 * is written and its answer read here; the client's connection (correlation ids, SASL, TLS,
 * timeouts) and its Writer are reused. Versions 9 to 11 share this request layout
 * (9 is the first flexible one; 10 and 11 only add response fields), all of which Kafka
 * 4.1 accepts:
 *
 *   ProduceRequest (v9-v11) =>
 *     transactional_id:COMPACT_NULLABLE_STRING  null outside a transaction
 *     acks:INT16                                -1: every in-sync replica
 *     timeout_ms:INT32
 *     topic_data:COMPACT_ARRAY[                 every topic the leader has batches of
 *       name:COMPACT_STRING
 *       partition_data:COMPACT_ARRAY[
 *         index:INT32
 *         records:COMPACT_RECORDS               one batch (idempotence allows no more)
 *         TAG_BUFFER]
 *       TAG_BUFFER]
 *     TAG_BUFFER
 */
function createRequest(
  transactionalId: string | null,
  acks: number,
  timeoutMs: number,
  topics: readonly TopicBatches[],
): Writer {
  return Writer.create()
    .appendString(transactionalId)
    .appendInt16(acks)
    .appendInt32(timeoutMs)
    .appendArray([...topics], (w, t) => {
      w.appendString(t.name).appendArray([...t.batches], (w, b) => {
        w.appendInt32(b.partition)
          .appendUnsignedVarInt(b.batch.length + 1)
          .append(b.batch);
      });
    })
    .appendTaggedFields();
}

/** The parts of a partition's answer the sender reads. */
export interface ProducePartitionResponse {
  index: number;
  errorCode: number;
  baseOffset: bigint;
  errorMessage: string | null;
}

export interface ProduceResponse {
  responses: { name: string; partitionResponses: ProducePartitionResponse[] }[];
}

/**
 * Every partition's answer, errors included: the sender decides per partition (retry,
 * advance, fail). (The client's parser throws on any error code and misreads the tagged
 * fields a NOT_LEADER_OR_FOLLOWER answer carries: compact-array.ts.)
 *
 *   ProduceResponse (v9-v11) =>
 *     responses:COMPACT_ARRAY[
 *       name:COMPACT_STRING
 *       partition_responses:COMPACT_ARRAY[
 *         index:INT32 error_code:INT16 base_offset:INT64 log_append_time_ms:INT64
 *         log_start_offset:INT64
 *         record_errors:COMPACT_ARRAY[batch_index:INT32 message:COMPACT_NULLABLE_STRING TAG_BUFFER]
 *         error_message:COMPACT_NULLABLE_STRING
 *         TAG_BUFFER]                          v10+: current_leader (tag 0)
 *       TAG_BUFFER]
 *     throttle_time_ms:INT32
 *     TAG_BUFFER                               v10+: node_endpoints (tag 0)
 */
function parseResponse(
  _correlationId: number,
  _apiKey: number,
  _apiVersion: number,
  reader: Reader,
): ProduceResponse {
  const responses =
    readCompactArray(reader, (r) => ({
      name: r.readString(),
      partitionResponses:
        readCompactArray(r, (r) => {
          const index = r.readInt32();
          const errorCode = r.readInt16();
          const baseOffset = r.readInt64();
          r.readInt64();
          r.readInt64();
          readCompactArray(r, (r) => {
            r.readInt32();
            r.readNullableString();
          });
          return { index, errorCode, baseOffset, errorMessage: r.readNullableString() };
        }) ?? [],
    })) ?? [];
  reader.readInt32();
  skipTaggedFields(reader);
  return { responses };
}

type ProduceBatches = API<
  [
    transactionalId: string | null,
    acks: number,
    timeoutMs: number,
    topics: readonly TopicBatches[],
  ],
  ProduceResponse
>;

/** Versions 9-11 differ only in tagged fields, which the parser skips. */
const produceApi = new VersionedApi<ProduceBatches, true>(
  "Produce",
  { 9: true, 10: true, 11: true },
  (v) => createAPI(0, v, createRequest, parseResponse) as ProduceBatches,
);

/**
 * Sends one Produce request of `topics`' batches to `connection`, the leader of all their
 * partitions (Kafka's producer sends each broker one request with every ready batch).
 */
export function produceBatches(
  connection: Connection,
  version: number,
  transactionalId: string | null,
  timeoutMs: number,
  topics: readonly TopicBatches[],
): Promise<ProduceResponse> {
  return produceApi.at(version).async(connection, transactionalId, -1, timeoutMs, topics);
}
