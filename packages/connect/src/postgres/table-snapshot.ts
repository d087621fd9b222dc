import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import type { SourceRecord } from "../connector.js";
import { ConnectError } from "../errors.js";
import { BinaryCopyRows } from "./binary-copy-rows.js";
import { JsonOut } from "./json-out.js";
import { type TableInfo, connectPostgres } from "./postgres-catalog.js";
import { SnapshotRowEncoder } from "./snapshot-row-encoder.js";

type SnapshotBatch = { records: SourceRecord[]; done: boolean };

export interface SnapshotOptions {
  /** Records per `next()` (at least; a batch ends at a chunk boundary). */
  batchRecords: number;
  topicOf(table: TableInfo): string;
  /** The envelope JSON around `after` of a snapshot record of `table` made at `now`. */
  envelope(table: TableInfo, now: number): { head: Buffer; tail: Buffer };
  warn(message: string): void;
}

interface CurrentTable {
  encoder: SnapshotRowEncoder;
  rows: BinaryCopyRows;
  chunks: AsyncIterator<Buffer>;
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
    const records: SourceRecord[] = [];
    const now = Date.now();
    const out = this.out;
    while (records.length < this.options.batchRecords) {
      const current = this.current ?? (await this.openNextTable());
      if (current === null) break;
      const { encoder, rows } = current;
      const { head, tail } = this.options.envelope(encoder.table, now);
      encoder.setEnvelope(head, tail);
      const chunk = await current.chunks.next();
      if (chunk.done) {
        if (!rows.complete) {
          throw new ConnectError("POSTGRES", `the COPY for ${encoder.topic} ended early`, {
            retriable: true,
          });
        }
        this.current = null;
        this.index++;
        continue;
      }
      rows.push(chunk.value, (src, dv) => records.push(encoder.encode(out, rows, src, dv, now)));
    }
    return { records, done: this.current === null && this.index >= this.tables.length };
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
    const stream = this.reader.query(copyTo(encoder.copySql));
    const name = `snapshot of ${table.schema}.${table.table}`;
    this.current = {
      encoder,
      rows: new BinaryCopyRows(encoder.fieldCount, name),
      chunks: stream[Symbol.asyncIterator](),
    };
    return this.current;
  }

  async close(): Promise<void> {
    // A COPY still streaming cannot be followed by COMMIT; ending the connection rolls
    // back the read-only transaction, which is all COMMIT would do.
    if (this.current === null) await this.reader.query("COMMIT").catch(() => {});
    await this.current?.chunks.return?.().catch(() => {});
    await this.reader.end().catch(() => {});
    await this.slotConnection.end().catch(() => {});
  }
}
