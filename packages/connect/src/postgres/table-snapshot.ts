import type pg from "pg";
import { RecordBatchBuilder, murmur2, toPositive } from "@tributary/log";
import type { SourceBatch, SourceRecord } from "../connector.js";
import { ConnectError } from "../errors.js";
import { BinaryCopyRows } from "./binary-copy-rows.js";
import { CopyOutReader } from "./copy-out-reader.js";
import { JsonOut } from "./json-out.js";
import { type TableInfo, connectPostgres } from "./postgres-catalog.js";
import { SnapshotRowEncoder } from "./snapshot-row-encoder.js";

/** A `next()`: the rows read as records, or as batches (`partitionsOf`); `rows` of them. */
type SnapshotBatch = { records: (SourceRecord | SourceBatch)[]; rows: number; done: boolean };

/**
 * Bytes per encoded batch at most: the producer's batch size. A snapshot fills its batches,
 * so each is allocated at this size at once rather than grown (and copied) to it.
 */
const BATCH_BYTES = 1024 * 1024;

export interface SnapshotOptions {
  /** Records per `next()` (at least; a batch ends at a chunk boundary). */
  batchRecords: number;
  topicOf(table: TableInfo): string;
  /** The envelope JSON around `after` of a snapshot record of `table` made at `now`. */
  envelope(table: TableInfo, now: number): { head: Buffer; tail: Buffer };
  warn(message: string): void;
  /**
   * Given, the rows are encoded straight into record batches (SourceBatch), one per
   * partition of the topic, which has this many partitions; otherwise into records.
   */
  partitionsOf?: (topic: string) => Promise<number>;
}

interface CurrentTable {
  encoder: SnapshotRowEncoder;
  rows: BinaryCopyRows;
  copy: CopyOutReader;
  /** Set when encoding batches: the topic's partition count. */
  partitions: number;
}

/**
 * Reads the selected tables as of the snapshot a new slot exported: one REPEATABLE READ
 * transaction that adopts the snapshot (SET TRANSACTION SNAPSHOT), then per table one
 * `COPY (SELECT …) TO STDOUT (FORMAT binary)`, decoded as it streams in straight into
 * records (snapshot-row-encoder.ts). The COPY is read only as fast as `next()` asks:
 * between calls the socket is not read, so Postgres waits (TCP backpressure) instead of
 * the rows piling up here. The slot's connection stays open and idle until `close()`,
 * since the exported snapshot lives only as long as it does.
 */
export class TableSnapshot {
  private index = 0;
  private current: CurrentTable | null = null;
  private readonly out = new JsonOut();
  /** Encoding batches: each row's key, which picks its partition. */
  private readonly scratch = new JsonOut(1 << 12);
  /** Encoding batches: writes each row's record straight into its partition's batch. */
  private readonly direct = new JsonOut(1 << 16);
  /** Encoding batches: the open batch per partition of the current table. */
  private readonly builders: (RecordBatchBuilder | undefined)[] = [];

  private constructor(
    private readonly reader: pg.Client,
    private readonly slotConnection: pg.Client,
    private readonly tables: TableInfo[],
    private readonly extraFloatDigits: number,
    private readonly options: SnapshotOptions,
  ) {}

  static async open(
    url: string,
    slot: { connection: pg.Client; snapshotName: string },
    tables: TableInfo[],
    options: SnapshotOptions,
  ): Promise<TableSnapshot> {
    const reader = await connectPostgres(url);
    await reader.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    await reader.query(`SET TRANSACTION SNAPSHOT '${slot.snapshotName.replace(/'/g, "''")}'`);
    const efd = await reader.query<{ extra_float_digits: string }>("SHOW extra_float_digits");
    const extraFloatDigits = Number(efd.rows[0]?.extra_float_digits ?? 1);
    return new TableSnapshot(reader, slot.connection, tables, extraFloatDigits, options);
  }

  /** Tables read completely so far. */
  get tablesDone(): number {
    return this.index;
  }

  /** The next records: at least `batchRecords` of them unless the snapshot ends first. */
  async next(): Promise<SnapshotBatch> {
    const records: (SourceRecord | SourceBatch)[] = [];
    let count = 0;
    const now = Date.now();
    const out = this.out;
    const batches = this.options.partitionsOf !== undefined;
    while (count < this.options.batchRecords) {
      const current = this.current ?? (await this.openNextTable());
      if (current === null) break;
      const { encoder, rows } = current;
      const { head, tail } = this.options.envelope(encoder.table, now);
      encoder.setEnvelope(head, tail);
      const more = await current.copy.read((src, dv, start, end) => {
        if (batches) count += this.encodeBatches(current, src, dv, start, end, now, records);
        else {
          rows.push(src, dv, start, end, (s, d) =>
            records.push(encoder.encode(out, rows, s, d, now)),
          );
          count = records.length;
        }
      });
      if (!more) {
        if (!rows.complete) {
          throw new ConnectError("POSTGRES", `the COPY for ${encoder.topic} ended early`, {
            retriable: true,
          });
        }
        if (batches) this.finishBatches(encoder.topic, records);
        this.current = null;
        this.index++;
      }
    }
    if (batches && this.current !== null) this.finishBatches(this.current.encoder.topic, records);
    return {
      records,
      rows: count,
      done: this.current === null && this.index >= this.tables.length,
    };
  }

  /**
   * The rows in `src[start, end)` into the open batch of each one's partition (murmur2 of
   * its key, as the producer partitions a keyed record); a full batch goes to `into`.
   * Returns the rows read.
   */
  private encodeBatches(
    current: CurrentTable,
    src: Buffer,
    dv: DataView,
    start: number,
    end: number,
    now: number,
    into: (SourceRecord | SourceBatch)[],
  ): number {
    const { encoder, rows, partitions } = current;
    const { scratch, direct, builders } = this;
    let n = 0;
    rows.push(src, dv, start, end, (row, rowView) => {
      scratch.clear();
      encoder.writeKey(scratch, rows, row, rowView);
      const keyBytes = scratch.buf;
      const keyLength = scratch.pos;
      const p = partitions === 1 ? 0 : toPositive(murmur2(keyBytes, 0, keyLength)) % partitions;
      let b = builders[p];
      if (b === undefined) {
        b = new RecordBatchBuilder(BATCH_BYTES, BATCH_BYTES);
        builders[p] = b;
      }
      // The key, then the value written straight into the batch, where the record goes.
      const at = b.inPlaceKeyAt;
      direct.into(b.buffer, at);
      direct.raw(keyBytes, 0, keyLength);
      direct.skip(b.inPlaceGap);
      const valueStart = direct.written;
      encoder.writeValue(direct, rows, row, rowView);
      const valueEnd = direct.written;
      n++;
      const inPlace = direct.buf === b.buffer;
      if (inPlace && b.commitInPlace(at, at + keyLength, at + valueStart, at + valueEnd, now)) {
        return;
      }
      // The batch is full: the record, in its buffer or moved by `direct`, opens the next.
      const bytes = direct.buf;
      const base = inPlace ? at : 0;
      into.push(sourceBatch(encoder.topic, p, b));
      b = new RecordBatchBuilder(BATCH_BYTES, BATCH_BYTES);
      builders[p] = b;
      b.append(bytes, base, base + keyLength, bytes, base + valueStart, base + valueEnd, now);
    });
    return n;
  }

  /** Every open batch of the table's partitions to `into`, in partition order. */
  private finishBatches(topic: string, into: (SourceRecord | SourceBatch)[]): void {
    const builders = this.builders;
    for (let p = 0; p < builders.length; p++) {
      const b = builders[p];
      if (b !== undefined && b.count > 0) into.push(sourceBatch(topic, p, b));
    }
    builders.length = 0;
  }

  private async openNextTable(): Promise<CurrentTable | null> {
    const table = this.tables[this.index];
    if (table === undefined) return null;
    const topic = this.options.topicOf(table);
    const encoder = await SnapshotRowEncoder.describe(
      this.reader,
      table,
      topic,
      this.extraFloatDigits,
    );
    const text = encoder.textColumns;
    if (text.length > 0) {
      this.options.warn(
        `snapshot of ${table.schema}.${table.table}: no binary reader for ${text.join(", ")}; ` +
          "those columns are read as text and parsed as the query protocol would (slower)",
      );
    }
    const partitions = (await this.options.partitionsOf?.(topic)) ?? 0;
    const name = `snapshot of ${table.schema}.${table.table}`;
    this.current = {
      encoder,
      rows: new BinaryCopyRows(encoder.fieldCount, name),
      copy: this.reader.query(new CopyOutReader(encoder.copySql)),
      partitions,
    };
    return this.current;
  }

  async close(): Promise<void> {
    // A COPY still streaming cannot be followed by COMMIT; ending the connection rolls
    // back the read-only transaction, which is all COMMIT would do.
    if (this.current === null) await this.reader.query("COMMIT").catch(() => {});
    this.current?.copy.cancel();
    await this.reader.end().catch(() => {});
    await this.slotConnection.end().catch(() => {});
  }
}

function sourceBatch(topic: string, partition: number, b: RecordBatchBuilder): SourceBatch {
  return { topic, partition, batch: b.finish(), records: b.count };
}
