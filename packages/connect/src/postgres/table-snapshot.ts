import type pg from "pg";
import type { Row } from "./change-envelope.js";
import { type TableInfo, connectPostgres, qualified } from "./postgres-catalog.js";

type SnapshotBatch = { rows: { table: TableInfo; row: Row }[]; done: boolean };

/**
 * Reads the selected tables as of the snapshot a new slot exported: one REPEATABLE READ
 * transaction that adopts the snapshot (SET TRANSACTION SNAPSHOT), one cursor per table
 * in turn, `fetchRows` rows per `next()`. The slot's connection stays open and idle
 * until `close()`, since the exported snapshot lives only as long as it does.
 */
export class TableSnapshot {
  private index = 0;
  private cursorOpen = false;
  private pending: Promise<SnapshotBatch> | null = null;

  private constructor(
    private readonly reader: pg.Client,
    private readonly slotConnection: pg.Client,
    private readonly tables: TableInfo[],
    private readonly fetchRows: number,
  ) {}

  static async open(
    url: string,
    slot: { connection: pg.Client; snapshotName: string },
    tables: TableInfo[],
    fetchRows: number,
  ): Promise<TableSnapshot> {
    const reader = await connectPostgres(url);
    await reader.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    await reader.query(`SET TRANSACTION SNAPSHOT '${slot.snapshotName.replace(/'/g, "''")}'`);
    return new TableSnapshot(reader, slot.connection, tables, fetchRows);
  }

  /**
   * The next rows. The fetch after them starts at once, so Postgres and the network work
   * while the caller sends these to the log.
   */
  async next(): Promise<SnapshotBatch> {
    const batch = await (this.pending ?? this.fetch());
    this.pending = batch.done ? null : this.fetch();
    // An error of the prefetch surfaces at the next call, not as an unhandled rejection.
    this.pending?.catch(() => {});
    return batch;
  }

  private async fetch(): Promise<SnapshotBatch> {
    const rows: { table: TableInfo; row: Row }[] = [];
    while (this.index < this.tables.length && rows.length < this.fetchRows) {
      const table = this.tables[this.index]!;
      if (!this.cursorOpen) {
        await this.reader.query(
          `DECLARE snap NO SCROLL CURSOR FOR SELECT * FROM ${qualified(table)}`,
        );
        this.cursorOpen = true;
      }
      const want = this.fetchRows - rows.length;
      const res = await this.reader.query<Row>(`FETCH ${want} FROM snap`);
      for (const row of res.rows) rows.push({ table, row });
      if (res.rows.length < want) {
        await this.reader.query("CLOSE snap");
        this.cursorOpen = false;
        this.index++;
      }
    }
    return { rows, done: this.index >= this.tables.length };
  }

  async close(): Promise<void> {
    await this.pending?.catch(() => {});
    await this.reader.query("COMMIT").catch(() => {});
    await this.reader.end().catch(() => {});
    await this.slotConnection.end().catch(() => {});
  }
}
