import {
  type API,
  type Connection,
  createAPI,
  produceV9,
  produceV10,
  produceV11,
  type Reader,
  Writer,
} from "@platformatic/kafka";
import { InvalidArgumentError } from "@tributary/log";

type ProduceResponse = produceV11.ProduceResponse;

/** One partition's finished record batch (Kafka's RecordBatch v2, encoded by @tributary/log). */
export interface PartitionBatch {
  partition: number;
  batch: Buffer;
}

/**
 * A Produce request (API key 0) that carries record batches Tributary encoded itself.
 *
 * Why not the Kafka client's Produce: @platformatic/kafka's request builder takes message
 * objects and encodes every record itself (createRecordsBatch through its DynamicBuffer),
 * with no way to hand it finished bytes, and that encoding was a quarter of the CPU of a
 * word count on Kafka plus much of its garbage (docs/benchmarks.md). Only the request body
 * is written here; the client's connection (correlation ids, SASL, TLS, timeouts), its
 * Writer and its response parser are reused. Versions 9 to 11 share this request layout
 * (9 is the first flexible one; 10 and 11 only add response fields), all of which Kafka
 * 2.8 to 4.1 accept:
 *
 *   ProduceRequest (v9-v11) =>
 *     transactional_id:COMPACT_NULLABLE_STRING  null outside a transaction
 *     acks:INT16                                -1: every in-sync replica
 *     timeout_ms:INT32
 *     topic_data:COMPACT_ARRAY[
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
  topic: string,
  batches: readonly PartitionBatch[],
): Writer {
  return Writer.create()
    .appendString(transactionalId)
    .appendInt16(acks)
    .appendInt32(timeoutMs)
    .appendArray([topic], (w, name) => {
      w.appendString(name).appendArray([...batches], (w, b) => {
        w.appendInt32(b.partition)
          .appendUnsignedVarInt(b.batch.length + 1)
          .append(b.batch);
      });
    })
    .appendTaggedFields();
}

type Parser = (
  correlationId: number,
  apiKey: number,
  apiVersion: number,
  reader: Reader,
) => ProduceResponse;

/**
 * The client's parser throws on any partition's error code; the sender decides per
 * partition (retry, advance, fail), so the response itself is returned either way.
 */
function lenient(parse: Parser): Parser {
  return (correlationId, apiKey, apiVersion, reader) => {
    try {
      return parse(correlationId, apiKey, apiVersion, reader);
    } catch (err) {
      const response = (err as { response?: ProduceResponse }).response;
      if (response !== undefined && Array.isArray(response.responses)) return response;
      throw err;
    }
  };
}

type ProduceBatches = API<
  [
    transactionalId: string | null,
    acks: number,
    timeoutMs: number,
    topic: string,
    batches: readonly PartitionBatch[],
  ],
  ProduceResponse
>;

const PARSERS: Record<number, Parser> = {
  9: produceV9.parseResponse as Parser,
  10: produceV10.parseResponse as Parser,
  11: produceV11.parseResponse as Parser,
};
const apis = new Map<number, ProduceBatches>();

/** The Produce API for batches at `version` (the highest the broker and client share, capped at 11). */
export function produceBatchesApi(version: number): ProduceBatches {
  const v = Math.min(version, 11);
  const parse = PARSERS[v];
  if (parse === undefined) {
    throw new InvalidArgumentError(
      `the Kafka broker speaks Produce up to version ${version}; Tributary needs 9 or later (Kafka 2.8+)`,
    );
  }
  let api = apis.get(v);
  if (api === undefined) {
    api = createAPI(0, v, createRequest, lenient(parse)) as ProduceBatches;
    apis.set(v, api);
  }
  return api;
}

/** Sends one Produce request of `topic`'s batches to `connection` (its partitions' leader). */
export function produceBatches(
  connection: Connection,
  version: number,
  transactionalId: string | null,
  timeoutMs: number,
  topic: string,
  batches: readonly PartitionBatch[],
): Promise<ProduceResponse> {
  return produceBatchesApi(version).async(
    connection,
    transactionalId,
    -1,
    timeoutMs,
    topic,
    batches,
  );
}
