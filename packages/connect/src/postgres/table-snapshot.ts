import type pg from "pg";
import type { SourceBatch, SourceRecord } from "../connector.js";
import { ConnectError } from "../errors.js";
import { BinaryCopyRows } from "./binary-copy-rows.js";
import { CopyOutReader } from "./copy-out-reader.js";
import { JsonOut } from "./json-out.js";
import { type TableInfo, connectPostgres } from "./postgres-catalog.js";
import { SnapshotBatchWriter } from "./snapshot-batch-writer.js";
import {
  type ChunkResult,
  type SnapshotEncoderPool,
  chunkBuffer,
  chunkError,
} from "./snapshot-encoder-pool.js";
import { SnapshotRowEncoder } from "./snapshot-row-encoder.js";

/** A `next()`: the rows read as records, or as batches (`partitionsOf`); `rows` of them. */
type SnapshotBatch = { records: (SourceRecord | SourceBatch)[]; rows: number; done: boolean };

/**
 * COPY bytes per chunk given to an encoding thread: ~3,000 rows of a narrow table, so a
 * thread's answer (~1 MB of batches) is worth its message, and the first arrives soon.
 */
const CHUNK_BYTES = 256 * 1024;
/** Chunks in flight per encoding thread: one being encoded, one waiting. */
const CHUNKS_PER_THREAD = 2;

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
  /**
   * Encoding batches: threads that encode the rows (snapshot-encoder-pool.ts) while this
   * one reads the COPY and the log appends; `close()` stops them. Absent, this thread
   * encodes them; so it does a table with a column read as text (its parsers are this
   * thread's).
   */
  pool?: SnapshotEncoderPool;
}

/** Encoding on threads: the COPY cut into chunks of whole rows, answered in order. */
interface Chunks {
  /** The chunk being filled, and its bytes so far. */
  chunk: Buffer | null;
  fill: number;
  /** No chunk of the COPY posted yet (the next carries the header). */
  first: boolean;
  /** The COPY has ended (its last chunk is posted). */
  ended: boolean;
  inFlight: Promise<ChunkResult>[];
  /** Rows answered so far, to name a failing row. */
  rows: number;
  complete: boolean;
}

interface CurrentTable {
  encoder: SnapshotRowEncoder;
  rows: BinaryCopyRows;
  copy: CopyOutReader;
  /** Encoding batches on this thread: the table's open batches. */
  writer: SnapshotBatchWriter | null;
  /** Encoding batches on threads. */
  chunks: Chunks | null;
  name: string;
}

/**
 * Reads the selected tables as of the snapshot a new slot exported: one REPEATABLE READ
 * transaction that adopts the snapshot (SET TRANSACTION SNAPSHOT), then per table one
 * `COPY (SELECT …) TO STDOUT (FORMAT binary)`, decoded as it streams in straight into
 * records (snapshot-row-encoder.ts) or record batches (snapshot-batch-writer.ts), here or
 * on encoding threads. The COPY is read only as fast as `next()` asks (and the threads
 * take chunks): between calls the socket is not read, so Postgres waits (TCP
 * backpressure) instead of the rows piling up here. The slot's connection stays open and
 * idle until `close()`, since the exported snapshot lives only as long as it does.
 */
export class TableSnapshot {
  private index = 0;
  private current: CurrentTable | null = null;
  private readonly out = new JsonOut();
  private readonly pool: SnapshotEncoderPool | null;

  private constructor(
    private readonly reader: pg.Client,
    private readonly slotConnection: pg.Client,
    private readonly tables: TableInfo[],
    private readonly extraFloatDigits: number,
    private readonly options: SnapshotOptions,
  ) {
    this.pool = options.pool ?? null;
  }

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
    while (count < this.options.batchRecords) {
      const current = this.current ?? (await this.openNextTable());
      if (current === null) break;
      const { encoder, rows, writer, chunks } = current;
      if (chunks !== null) {
        count += await this.nextChunk(current, chunks, records as SourceBatch[]);
        continue;
      }
      const { head, tail } = this.options.envelope(encoder.table, now);
      encoder.setEnvelope(head, tail);
      const more = await current.copy.read((src, dv, start, end) => {
        if (writer !== null) {
          count += writer.write(rows, src, dv, start, end, now, records as SourceBatch[]);
        } else {
          rows.push(src, dv, start, end, (s, d) =>
            records.push(encoder.encode(out, rows, s, d, now)),
          );
          count = records.length;
        }
      });
      if (!more) {
        if (!rows.complete) this.endedEarly(current);
        writer?.finish(records as SourceBatch[]);
        this.tableDone();
      }
    }
    this.current?.writer?.finish(records as SourceBatch[]);
    return {
      records,
      rows: count,
      done: this.current === null && this.index >= this.tables.length,
    };
  }

  /**
   * Encoding on threads: keeps them fed with chunks of the COPY, then takes the oldest
   * chunk's batches into `into` (so they come in COPY order). Returns its rows.
   */
  private async nextChunk(current: CurrentTable, chunks: Chunks, into: SourceBatch[]) {
    const limit = CHUNKS_PER_THREAD * this.pool!.size;
    while (!chunks.ended && chunks.inFlight.length < limit) {
      const more = await current.copy.read((src, _dv, start, end) =>
        this.gather(current, chunks, src, start, end),
      );
      if (!more) {
        chunks.ended = true;
        this.post(current, chunks, true);
      } else if (chunks.fill >= CHUNK_BYTES) this.post(current, chunks, false);
    }
    const next = chunks.inFlight.shift();
    if (next === undefined) {
      if (!chunks.complete) this.endedEarly(current);
      this.tableDone();
      return 0;
    }
    const result = await next;
    if (!result.ok) throw chunkError(current.name, chunks.rows, result);
    chunks.rows += result.rows;
    chunks.complete ||= result.complete;
    for (const b of result.batches) into.push(b);
    return result.rows;
  }

  /** A CopyData payload (one row; the first also holds the header) into the open chunk. */
  private gather(current: CurrentTable, chunks: Chunks, src: Buffer, start: number, end: number) {
    const n = end - start;
    if (chunks.chunk !== null && chunks.fill + n > chunks.chunk.length) {
      this.post(current, chunks, false);
    }
    // A row bigger than a chunk gets a chunk of its size.
    chunks.chunk ??= chunkBuffer(Math.max(CHUNK_BYTES, n));
    chunks.fill += src.copy(chunks.chunk, chunks.fill, start, end);
  }

  /** The open chunk (if any, or an empty last one) to a thread. */
  private post(current: CurrentTable, chunks: Chunks, last: boolean): void {
    if (chunks.chunk === null && !last) return;
    const chunk = (chunks.chunk ?? chunkBuffer(0)).subarray(0, chunks.fill);
    const now = Date.now();
    const { head, tail } = this.options.envelope(current.encoder.table, now);
    const result = this.pool!.encode(chunk, { first: chunks.first, last, head, tail, now });
    chunks.inFlight.push(result);
    chunks.chunk = null;
    chunks.fill = 0;
    chunks.first = false;
  }

  private endedEarly(current: CurrentTable): never {
    throw new ConnectError("POSTGRES", `the COPY for ${current.encoder.topic} ended early`, {
      retriable: true,
    });
  }

  private tableDone(): void {
    this.current = null;
    this.index++;
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
    const pool = this.pool;
    const threaded = partitions > 0 && pool !== null && text.length === 0;
    if (threaded) {
      pool.table({
        table,
        topic,
        types: encoder.types,
        partitions,
        name,
        chunkBytes: CHUNK_BYTES,
      });
    }
    this.current = {
      encoder,
      rows: new BinaryCopyRows(encoder.fieldCount, name),
      copy: this.reader.query(new CopyOutReader(encoder.copySql)),
      writer: partitions > 0 && !threaded ? new SnapshotBatchWriter(encoder, partitions) : null,
      chunks: threaded
        ? {
            chunk: null,
            fill: 0,
            first: true,
            ended: false,
            inFlight: [],
            rows: 0,
            complete: false,
          }
        : null,
      name,
    };
    return this.current;
  }

  async close(): Promise<void> {
    await this.pool?.close();
    // A COPY still streaming cannot be followed by COMMIT; ending the connection rolls
    // back the read-only transaction, which is all COMMIT would do.
    if (this.current === null) await this.reader.query("COMMIT").catch(() => {});
    this.current?.copy.cancel();
    await this.reader.end().catch(() => {});
    await this.slotConnection.end().catch(() => {});
  }
}
