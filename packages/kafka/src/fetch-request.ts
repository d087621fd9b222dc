import {
  type API,
  type Connection,
  createAPI,
  fetchV13,
  fetchV14,
  fetchV15,
  fetchV16,
  fetchV17,
  ProtocolError as KafkaProtocolError,
  type Reader,
} from "@platformatic/kafka";
import { readCompactArray } from "./compact-array.js";
import { VersionedApi } from "./versioned-api.js";

/** One partition of a Fetch response, its records left as the bytes Kafka sent. */
export interface FetchedPartitionBytes {
  partitionIndex: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  abortedTransactions: { producerId: bigint; firstOffset: bigint }[] | null;
  /** Back-to-back RecordBatches (the last one possibly cut at the size limit), or null. */
  records: Buffer | null;
}

export interface FetchResponse {
  responses: { topicId: string; partitions: FetchedPartitionBytes[] }[];
}

/** One partition of a Fetch request. */
export interface FetchPartition {
  partition: number;
  currentLeaderEpoch: number;
  fetchOffset: bigint;
  lastFetchedEpoch: number;
  partitionMaxBytes: number;
}

/**
 * The Fetch response (API key 1) read with the records left undecoded, for
 * @tributary/log's RecordBatch to check and decode. The Kafka client's own parser decodes
 * every record of every batch into objects (which Tributary then turned into its records:
 * two objects per record, and the garbage of both); its request builder is reused as it is.
 * Versions 13 to 17 share this layout (13 is the first with topic ids; later ones only add
 * tagged fields, which compact-array.ts skips correctly where the client's reader does not):
 *
 *   FetchResponse (v13-v17) =>
 *     throttle_time_ms:INT32 error_code:INT16 session_id:INT32
 *     responses:COMPACT_ARRAY[
 *       topic_id:UUID
 *       partitions:COMPACT_ARRAY[
 *         partition_index:INT32 error_code:INT16 high_watermark:INT64
 *         last_stable_offset:INT64 log_start_offset:INT64
 *         aborted_transactions:COMPACT_NULLABLE_ARRAY[producer_id:INT64 first_offset:INT64 TAG_BUFFER]
 *         preferred_read_replica:INT32
 *         records:COMPACT_RECORDS
 *         TAG_BUFFER]
 *       TAG_BUFFER]
 *     TAG_BUFFER
 */
function parseResponse(
  _correlationId: number,
  _apiKey: number,
  _apiVersion: number,
  reader: Reader,
): FetchResponse {
  reader.readInt32();
  const errorCode = reader.readInt16();
  // Fetch sessions are not used (session 0, epoch -1): a top-level error is the whole fetch's.
  if (errorCode !== 0) throw new KafkaProtocolError(errorCode);
  reader.readInt32();
  return {
    responses:
      readCompactArray(reader, (r) => ({
        topicId: r.readUUID(),
        partitions:
          readCompactArray(r, (r) => {
            const partitionIndex = r.readInt32();
            const partitionError = r.readInt16();
            const highWatermark = r.readInt64();
            const lastStableOffset = r.readInt64();
            r.readInt64();
            const abortedTransactions = readCompactArray(r, (r) => ({
              producerId: r.readInt64(),
              firstOffset: r.readInt64(),
            }));
            r.readInt32();
            const size = r.readUnsignedVarInt() - 1;
            let records: Buffer | null = null;
            if (size > 0) {
              records = r.buffer.slice(r.position, r.position + size);
              r.skip(size);
            }
            return {
              partitionIndex,
              errorCode: partitionError,
              highWatermark,
              lastStableOffset,
              abortedTransactions,
              records,
            };
          }) ?? [],
      })) ?? [],
  };
}

type FetchApi = API<
  [
    maxWaitMs: number,
    minBytes: number,
    maxBytes: number,
    isolationLevel: number,
    sessionId: number,
    sessionEpoch: number,
    topics: { topicId: string; partitions: FetchPartition[] }[],
    forgottenTopicsData: unknown[],
    rackId: string,
  ],
  FetchResponse
>;

type RequestBuilder = (...args: never[]) => unknown;
const fetchApi = new VersionedApi<FetchApi, RequestBuilder>(
  "Fetch",
  {
    13: fetchV13.createRequest,
    14: fetchV14.createRequest,
    15: fetchV15.createRequest,
    16: fetchV16.createRequest,
    17: fetchV17.createRequest,
  },
  (v, createRequest) => createAPI(1, v, createRequest as never, parseResponse) as FetchApi,
);

/** One Fetch of `topics` from `connection` (their leader), long-polling up to `maxWaitMs`. */
export function fetchBytes(
  connection: Connection,
  version: number,
  options: { maxWaitMs: number; maxBytes: number; readCommitted: boolean },
  topics: { topicId: string; partitions: FetchPartition[] }[],
): Promise<FetchResponse> {
  return fetchApi
    .at(version)
    .async(
      connection,
      options.maxWaitMs,
      1,
      options.maxBytes,
      options.readCommitted ? 1 : 0,
      0,
      -1,
      topics,
      [],
      "",
    );
}
