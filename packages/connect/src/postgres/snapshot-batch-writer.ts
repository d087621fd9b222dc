import { RecordBatchBuilder, murmur2, toPositive } from "@tributary/log";
import type { SourceBatch } from "../connector.js";
import type { BinaryCopyRows } from "./binary-copy-rows.js";
import { JsonOut } from "./json-out.js";
import type { SnapshotRowEncoder } from "./snapshot-row-encoder.js";

/**
 * Bytes per encoded batch at most: the producer's batch size. A snapshot fills its batches,
 * so each is allocated at this size at once rather than grown (and copied) to it.
 */
export const BATCH_BYTES = 1024 * 1024;

/**
 * Writes a table's snapshot rows straight into Kafka v2 record batches, one open batch
 * per partition of its topic (murmur2 of the key's bytes, as the producer partitions a
 * keyed record), each record's key and envelope written where they go in the batch. Used
 * on the task's thread, and by each encoding thread for the rows of one chunk.
 */
export class SnapshotBatchWriter {
  /** Each row's key, which picks its partition. */
  private readonly scratch = new JsonOut(1 << 12);
  /** Writes each row's record straight into its partition's batch. */
  private readonly direct = new JsonOut(1 << 16);
  /** The open batch per partition. */
  private readonly builders: (RecordBatchBuilder | undefined)[] = [];
  /** Rows written so far (if `write` throws, the row after them failed). */
  rowsWritten = 0;

  constructor(
    private readonly encoder: SnapshotRowEncoder,
    private readonly partitions: number,
    /** A new batch's first buffer (it grows up to BATCH_BYTES). */
    private readonly initialBytes = BATCH_BYTES,
  ) {}

  /**
   * The rows in `src[start, end)` (split by `rows`) into the open batch of each one's
   * partition; a full batch goes to `into`. Returns the rows read.
   */
  write(
    rows: BinaryCopyRows,
    src: Buffer,
    dv: DataView,
    start: number,
    end: number,
    now: number,
    into: SourceBatch[],
  ): number {
    const before = this.rowsWritten;
    rows.push(src, dv, start, end, (row, rowView) => {
      this.writeRow(rows, row, rowView, now, into);
      this.rowsWritten++;
    });
    return this.rowsWritten - before;
  }

  private writeRow(
    rows: BinaryCopyRows,
    row: Buffer,
    rowView: DataView,
    now: number,
    into: SourceBatch[],
  ): void {
    const { encoder, partitions, scratch, direct, builders } = this;
    scratch.clear();
    encoder.writeKey(scratch, rows, row, rowView);
    const keyBytes = scratch.buf;
    const keyLength = scratch.pos;
    const p = partitions === 1 ? 0 : toPositive(murmur2(keyBytes, 0, keyLength)) % partitions;
    let b = builders[p] ?? this.open(p);
    // The key, then the value written straight into the batch, where the record goes.
    const at = b.inPlaceKeyAt;
    direct.into(b.buffer, at);
    direct.raw(keyBytes, 0, keyLength);
    direct.skip(b.inPlaceGap);
    const valueStart = direct.written;
    encoder.writeValue(direct, rows, row, rowView);
    const valueEnd = direct.written;
    const inPlace = direct.buf === b.buffer;
    if (inPlace && b.commitInPlace(at, at + keyLength, at + valueStart, at + valueEnd, now)) {
      return;
    }
    const bytes = direct.buf;
    const base = inPlace ? at : 0;
    const keyEnd = base + keyLength;
    // Outgrew the batch's buffer (moved by `direct`): copied in, the buffer grown, while
    // the batch is under its capacity.
    if (!inPlace && b.append(bytes, base, keyEnd, bytes, base + valueStart, base + valueEnd, now)) {
      return;
    }
    // The batch is full (it has a record: a batch takes its first whatever its size).
    into.push(sourceBatch(encoder.topic, p, b));
    b = this.open(p);
    b.append(bytes, base, keyEnd, bytes, base + valueStart, base + valueEnd, now);
  }

  /** Every open batch to `into`, in partition order; the writer starts afresh. */
  finish(into: SourceBatch[]): void {
    const builders = this.builders;
    for (let p = 0; p < builders.length; p++) {
      const b = builders[p];
      if (b !== undefined && b.count > 0) into.push(sourceBatch(this.encoder.topic, p, b));
    }
    builders.length = 0;
  }

  private open(p: number): RecordBatchBuilder {
    const b = new RecordBatchBuilder(BATCH_BYTES, this.initialBytes);
    this.builders[p] = b;
    return b;
  }
}

function sourceBatch(topic: string, partition: number, b: RecordBatchBuilder): SourceBatch {
  return { topic, partition, batch: b.finish(), records: b.count };
}
