import { Reader, readRecordsBatch } from "@platformatic/kafka";
import {
  CONTROL_FLAG,
  type LogRecord,
  type RecordBatch,
  splitBatches,
  TRANSACTIONAL_FLAG,
} from "@tributary/log";

/** Record batch attribute bit 3: the broker stamped the batch's maxTimestamp (log-append time). */
const LOG_APPEND_TIME = 0x08;

/**
 * A partition's fetched bytes as records at or after `from` (appended to `out`), and the
 * next position. Each batch's CRC is checked (as Kafka's consumer does with check.crcs)
 * before it is read; a batch cut at the fetch's size limit is left for the next fetch.
 * read_committed drops aborted transactions' records (forEachReadable).
 */
export function appendFetched(
  bytes: Buffer | null,
  from: number,
  readCommitted: boolean,
  abortedTransactions: readonly { producerId: bigint; firstOffset: bigint }[] | null,
  where: string,
  out: LogRecord[],
): number {
  return forEachReadable(bytes, from, readCommitted, abortedTransactions, where, (batch) =>
    appendBatch(batch, from, out),
  );
}

/**
 * The same batches as appendFetched reads, handed on undecoded (a BatchReader's read): a
 * compressed batch, which only the Kafka client's codecs read, is decoded here into records
 * at or after `from`. Returns the next position.
 */
export function appendFetchedBatches(
  bytes: Buffer | null,
  from: number,
  readCommitted: boolean,
  abortedTransactions: readonly { producerId: bigint; firstOffset: bigint }[] | null,
  where: string,
  out: (RecordBatch | readonly LogRecord[])[],
): number {
  return forEachReadable(bytes, from, readCommitted, abortedTransactions, where, (batch) => {
    if (batch.compression === 0) {
      out.push(batch);
      return;
    }
    const records: LogRecord[] = [];
    appendCompressed(batch, from, (batch.attributes & LOG_APPEND_TIME) !== 0, records);
    out.push(records);
  });
}

/**
 * Calls `read` with each fetched batch that holds application records for this consumer
 * and returns the next position. Kafka returns whole batches, so the first one may start
 * before the fetch offset; control batches (transaction markers) hold no application
 * records but still move the position past them, as skipped aborted batches do.
 */
function forEachReadable(
  bytes: Buffer | null,
  from: number,
  readCommitted: boolean,
  abortedTransactions: readonly { producerId: bigint; firstOffset: bigint }[] | null,
  where: string,
  read: (batch: RecordBatch) => void,
): number {
  if (bytes === null) return from;
  const { batches } = splitBatches(bytes);
  for (const b of batches) b.verify(where);
  const skip = readCommitted ? committedFilter(abortedTransactions ?? []) : undefined;
  let next = from;
  for (const batch of batches) {
    if (skip === undefined ? !batch.isControl : !skip(batch)) read(batch);
    next = Math.max(next, batch.nextOffset);
  }
  return next;
}

/** Appends a batch's records at or after `from` to `out`. */
function appendBatch(batch: RecordBatch, from: number, out: LogRecord[]): void {
  const logAppendTime = (batch.attributes & LOG_APPEND_TIME) !== 0;
  if (batch.compression !== 0) {
    appendCompressed(batch, from, logAppendTime, out);
    return;
  }
  const maxTimestamp = logAppendTime ? batch.maxTimestamp : 0;
  batch.forEach((r) => {
    if (r.offset < from) return;
    if (logAppendTime) r.timestamp = maxTimestamp;
    out.push(r);
  });
}

/**
 * A compressed batch (written by another producer: Tributary's are not), decompressed and
 * decoded by the Kafka client, whose codecs (gzip, snappy, lz4, zstd) Tributary's log does
 * not carry.
 */
function appendCompressed(
  batch: RecordBatch,
  from: number,
  logAppendTime: boolean,
  out: LogRecord[],
): void {
  const decoded = readRecordsBatch(Reader.from(batch.bytes()));
  const first = Number(decoded.firstOffset);
  for (const r of decoded.records) {
    const offset = first + r.offsetDelta;
    if (offset < from) continue;
    const headers: Record<string, Buffer> = {};
    for (const [hk, hv] of r.headers) {
      if (hk !== null) headers[hk.toString()] = hv ?? Buffer.alloc(0);
    }
    out.push({
      offset,
      timestamp: Number(
        logAppendTime ? decoded.maxTimestamp : decoded.firstTimestamp + r.timestampDelta,
      ),
      key: r.key,
      value: r.value,
      headers,
    });
  }
}

/**
 * read_committed, as Kafka's Fetcher: the broker returns records up to the last stable
 * offset and the transactions aborted in that range (producer id, first offset). From an
 * aborted transaction's first offset, that producer's transactional batches are skipped
 * until its ABORT marker; control batches (the markers) are never records. The filter
 * answers true for a batch to skip; call it for every batch in offset order.
 */
function committedFilter(
  abortedTransactions: readonly { producerId: bigint; firstOffset: bigint }[],
): (batch: RecordBatch) => boolean {
  const aborted = abortedTransactions
    .map((a) => ({ producerId: Number(a.producerId), firstOffset: Number(a.firstOffset) }))
    .sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedProducers = new Set<number>();
  let nextAborted = 0;
  return (batch) => {
    const last = batch.lastOffset;
    while (nextAborted < aborted.length && aborted[nextAborted]!.firstOffset <= last) {
      abortedProducers.add(aborted[nextAborted++]!.producerId);
    }
    const transactional = (batch.attributes & TRANSACTIONAL_FLAG) !== 0;
    if ((batch.attributes & CONTROL_FLAG) !== 0) {
      if (transactional && isAbortMarker(batch)) abortedProducers.delete(batch.producerId);
      return true;
    }
    // An aborted transaction's records are skipped; the position still moves past them.
    return transactional && abortedProducers.has(batch.producerId);
  };
}

/** A control record's key is version:int16 type:int16, type 0 = ABORT, 1 = COMMIT. */
function isAbortMarker(batch: RecordBatch): boolean {
  const k = batch.records()[0]?.key;
  return k !== undefined && k !== null && k.length >= 4 && k.readInt16BE(2) === 0;
}
