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
 * read_committed drops aborted transactions' records (appendCommitted).
 */
export function appendFetched(
  bytes: Buffer | null,
  from: number,
  readCommitted: boolean,
  abortedTransactions: readonly { producerId: bigint; firstOffset: bigint }[] | null,
  where: string,
  out: LogRecord[],
): number {
  if (bytes === null) return from;
  const { batches } = splitBatches(bytes);
  for (const b of batches) b.verify(where);
  if (readCommitted) return appendCommitted(batches, abortedTransactions ?? [], from, out);
  let next = from;
  for (const batch of batches) next = appendBatch(batch, from, next, out);
  return next;
}

/**
 * Appends a batch's records at or after `from` to `out` and returns the next position.
 * Kafka returns whole batches, so the first one may start before the fetch offset;
 * control batches (transaction markers) hold no application records but still move the
 * position past them.
 */
function appendBatch(batch: RecordBatch, from: number, next: number, out: LogRecord[]): number {
  const end = batch.nextOffset;
  if (batch.isControl) return Math.max(next, end);
  const logAppendTime = (batch.attributes & LOG_APPEND_TIME) !== 0;
  if (batch.compression !== 0) {
    appendCompressed(batch, from, logAppendTime, out);
    return Math.max(next, end);
  }
  const maxTimestamp = logAppendTime ? batch.maxTimestamp : 0;
  batch.forEach((r) => {
    if (r.offset < from) return;
    if (logAppendTime) r.timestamp = maxTimestamp;
    out.push(r);
  });
  return Math.max(next, end);
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
 * until its ABORT marker; control batches (the markers) are never records. Returns the
 * next position.
 */
function appendCommitted(
  batches: readonly RecordBatch[],
  abortedTransactions: readonly { producerId: bigint; firstOffset: bigint }[],
  from: number,
  out: LogRecord[],
): number {
  const aborted = abortedTransactions
    .map((a) => ({ producerId: Number(a.producerId), firstOffset: Number(a.firstOffset) }))
    .sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedProducers = new Set<number>();
  let nextAborted = 0;
  let next = from;
  for (const batch of batches) {
    const last = batch.lastOffset;
    while (nextAborted < aborted.length && aborted[nextAborted]!.firstOffset <= last) {
      abortedProducers.add(aborted[nextAborted++]!.producerId);
    }
    const transactional = (batch.attributes & TRANSACTIONAL_FLAG) !== 0;
    if ((batch.attributes & CONTROL_FLAG) !== 0) {
      if (transactional && isAbortMarker(batch)) abortedProducers.delete(batch.producerId);
    } else if (transactional && abortedProducers.has(batch.producerId)) {
      // An aborted transaction's records: skipped, but the position moves past them.
    } else {
      next = appendBatch(batch, from, next, out);
      continue;
    }
    next = Math.max(next, last + 1);
  }
  return next;
}

/** A control record's key is version:int16 type:int16, type 0 = ABORT, 1 = COMMIT. */
function isAbortMarker(batch: RecordBatch): boolean {
  const k = batch.records()[0]?.key;
  return k !== undefined && k !== null && k.length >= 4 && k.readInt16BE(2) === 0;
}
