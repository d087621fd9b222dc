import { setTimeout as sleep } from "node:timers/promises";
import type { ConnectionPool } from "@platformatic/kafka";
import {
  type BatchReader,
  type BatchReaderOptions,
  ClosedError,
  checkIsolation,
  type FetchedBatches,
  OffsetOutOfRangeError,
} from "@tributary/log";
import { fromKafkaError } from "./errors.js";
import { type FetchResponse, fetchBytes } from "./fetch-request.js";
import { appendFetchedBatches } from "./fetched-records.js";
import type { KafkaCluster } from "./kafka-cluster.js";

/** Kafka's error code for a fetch offset outside the log. */
const OFFSET_OUT_OF_RANGE = 1;

/**
 * The BatchReader on Kafka: one Fetch of one partition from its leader per read, on a
 * connection of its own (a long poll holds up whatever else shares it), the batches
 * filtered as KafkaConsumer filters them (fetched-records.ts) but not decoded. The
 * partition's limit is the read's `maxBytes` (a consumer's 1 MiB default would cut a
 * restore's chunks to a quarter). Under read_committed a read stops at the last stable
 * offset, so at a transaction still open it returns nothing after the long poll, and the
 * caller reads again (restore waits so until the transaction ends or its own limit).
 */
export class KafkaBatchReader implements BatchReader {
  private readonly pool: ConnectionPool;
  private readonly readCommitted: boolean;
  private fetchVersion: number | undefined;
  private closed = false;

  constructor(
    private readonly cluster: KafkaCluster,
    private readonly options: BatchReaderOptions,
  ) {
    cluster.checkTopicName(options.topic);
    this.readCommitted =
      checkIsolation(options.isolation ?? "read_uncommitted") === "read_committed";
    this.pool = cluster.newPool(60_000, options.clientId);
  }

  async read(offset: number, maxWaitMs: number): Promise<FetchedBatches> {
    if (this.closed) throw new ClosedError("batch reader");
    const { topic, partition, maxBytes } = this.options;
    const started = Date.now();
    const info = await this.cluster.topic(topic);
    let response: FetchResponse;
    try {
      this.fetchVersion ??= await this.cluster.apiVersion("Fetch");
      response = await fetchBytes(
        await this.cluster.node(info.leaders[partition] ?? -1, this.pool),
        this.fetchVersion,
        { maxWaitMs, maxBytes, readCommitted: this.readCommitted },
        [
          {
            topicId: info.id,
            partitions: [
              {
                partition,
                currentLeaderEpoch: -1,
                fetchOffset: BigInt(offset),
                lastFetchedEpoch: -1,
                partitionMaxBytes: maxBytes,
              },
            ],
          },
        ],
      );
    } catch (err) {
      this.cluster.invalidate();
      throw fromKafkaError(err, `fetch from ${topic}-${partition}`);
    }
    const p = response.responses
      .find((t) => t.topicId === info.id)
      ?.partitions.find((x) => x.partitionIndex === partition);
    if (p?.errorCode === OFFSET_OUT_OF_RANGE) {
      throw new OffsetOutOfRangeError(topic, partition, offset, -1, Number(p.highWatermark));
    }
    if (p === undefined || p.errorCode !== 0) {
      // A leader moving (or metadata behind a new topic): refresh the metadata, and wait out
      // the read's time as a long poll would, as the consumer does: answered at once, a
      // caller that counts empty reads (restore gives up after 600) would give up in a
      // second where it means a minute.
      this.cluster.invalidate();
      await sleep(Math.max(0, started + maxWaitMs - Date.now()));
      return { batches: [], next: offset };
    }
    const batches: FetchedBatches["batches"] = [];
    const next = appendFetchedBatches(
      p.records,
      offset,
      this.readCommitted,
      p.abortedTransactions,
      `fetch from ${topic}-${partition}`,
      batches,
    );
    return { batches, next };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close();
  }
}
