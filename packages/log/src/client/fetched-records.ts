import type { LogRecord } from "../record.js";
import { splitBatches } from "../record-batch.js";
import { AbortedTransactionFilter } from "./aborted-transaction-filter.js";
import type { IsolationLevel } from "./isolation-level.js";
import type { FetchRequest, FetchResponse } from "./log-service.js";

/**
 * The records a consumer hands on from one partition's fetched bytes, from `position` on,
 * and the position after them. Batches are CRC-checked unless the service already did
 * (`verified`); markers are never handed on, nor, under read_committed, the records of
 * aborted transactions (aborted-transaction-filter.ts). A batch skipped, or a compacted
 * one ending in removed records, still moves the position past its last offset.
 */
export function fetchedRecords(
  response: FetchResponse,
  position: number,
  verified: boolean,
  isolation: IsolationLevel,
): { records: LogRecord[]; next: number } {
  const { batches } = splitBatches(response.records);
  const records: LogRecord[] = [];
  const keep = (
    offset: number,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
    headers: Record<string, Buffer>,
  ): void => {
    if (offset >= position) records.push({ offset, timestamp, key, value, headers });
  };
  let next = position;
  const where = `${response.topic}-${response.partition}`;
  const filter = new AbortedTransactionFilter(
    isolation === "read_committed",
    response.abortedTransactions,
  );
  for (const batch of batches) {
    if (batch.nextOffset <= position) continue;
    if (!verified) batch.verify(where);
    if (!filter.skip(batch)) {
      batch.walk(true, keep);
    }
    next = batch.nextOffset;
  }
  return { records, next };
}

/** Where a consumer's reads of the partition end for now: the LSO under read_committed. */
export function readableEnd(response: FetchResponse, isolation: IsolationLevel): number {
  if (isolation === "read_committed" && response.lastStableOffset !== undefined) {
    return response.lastStableOffset;
  }
  return response.highWatermark;
}

/** What identifies a fetch: its partitions and offsets, in order (for the prefetch). */
export function fetchKey(requests: FetchRequest[]): string {
  let key = "";
  for (const r of requests) key += `${r.topic}\u0000${r.partition}\u0000${r.offset}\u0001`;
  return key;
}
