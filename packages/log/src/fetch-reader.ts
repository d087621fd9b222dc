import { TributaryError } from "./errors.js";
import type { FetchRequest, FetchResponse } from "./client/log-service.js";
import type { IsolationLevel } from "./client/isolation-level.js";
import type { PartitionLog } from "./storage/partition-log.js";

const EMPTY = Buffer.alloc(0);

/**
 * Reads one fetch's partitions from their logs, within `maxBytes` over all of them. As
 * Kafka's fetch.max.bytes it is a bound, not a minimum: the first batch found is sent
 * whatever its size, so a small or non-positive limit never stalls a consumer. Under
 * read_committed each partition is read below its last stable offset, and the aborted
 * transactions overlapping what was read go with it (the consumer drops their records).
 */
export function readPartitions(
  requests: FetchRequest[],
  logs: (PartitionLog | TributaryError)[],
  maxBytes: number,
  isolation: IsolationLevel = "read_uncommitted",
): FetchResponse[] {
  let budget = maxBytes;
  let sent = false;
  const out: FetchResponse[] = [];
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i]!;
    const log = logs[i]!;
    if (log instanceof Error) {
      out.push(fetchErrorResponse(r, log));
      continue;
    }
    const lastStableOffset = log.lastStableOffset;
    if (budget <= 0 && sent) {
      out.push({
        topic: r.topic,
        partition: r.partition,
        records: EMPTY,
        highWatermark: log.highWatermark,
        logStartOffset: log.logStartOffset,
        lastStableOffset,
      });
      continue;
    }
    try {
      const read = log.read(r.offset, Math.min(r.maxBytes, budget), { isolation });
      budget -= read.records.length;
      const response: FetchResponse = {
        topic: r.topic,
        partition: r.partition,
        ...read,
        lastStableOffset,
      };
      if (read.records.length > 0) {
        sent = true;
        if (isolation === "read_committed") {
          const aborted = log.abortedTransactions(r.offset, lastStableOffset);
          if (aborted.length > 0) {
            response.abortedTransactions = aborted.map((a) => ({
              producerId: a.producerId,
              firstOffset: a.firstOffset,
            }));
          }
        }
      }
      out.push(response);
    } catch (err) {
      if (!(err instanceof TributaryError)) throw err;
      out.push(fetchErrorResponse(r, err));
    }
  }
  return out;
}

export function fetchedBytes(responses: FetchResponse[]): number {
  let n = 0;
  for (const r of responses) n += r.records.length;
  return n;
}

export function fetchErrorResponse(r: FetchRequest, err: TributaryError): FetchResponse {
  return {
    topic: r.topic,
    partition: r.partition,
    records: EMPTY,
    highWatermark: -1,
    logStartOffset: -1,
    error: { code: err.code, message: err.message },
  };
}
