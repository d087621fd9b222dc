import { mapEntry } from "../map-entry.js";
import type pg from "pg";
import { type ConfigOf, validateConfig } from "../config-def.js";
import {
  type SinkRecord,
  type SinkTask,
  type TaskContext,
  defineSinkConnector,
} from "../connector.js";
import { BadRecordError, ConnectError } from "../errors.js";
import type { Row } from "./change-envelope.js";
import { type Change, LatestPerKey, type TargetTable, decodeChange } from "./sink-change.js";
import {
  type TableInfo,
  connectPostgres,
  describeTable,
  ident,
  qualified,
} from "./postgres-catalog.js";

const CONFIG = {
  connection: { type: "string", required: true, doc: "postgres://user:password@host:port/db" },
  tables: {
    type: "map",
    default: {},
    doc: "target table per topic, { topic: schema.table }; others go to <schema>.<last part of the topic>",
  },
  schema: { type: "string", default: "public", doc: "schema of tables not named in `tables`" },
  addColumns: {
    type: "boolean",
    default: true,
    doc: "add a column a record has and the table lacks (text, numeric, boolean or jsonb by its JSON type)",
  },
} as const;

export type PostgresSinkConfig = ConfigOf<typeof CONFIG>;

/**
 * Writes change records into Postgres tables (`type: "postgres-sink"`): a Debezium
 * envelope (or a plain JSON row) is upserted by its key (INSERT … ON CONFLICT on the
 * table's primary key), a delete or a tombstone deletes the key's row. Each batch is
 * applied atomically (one statement, or one transaction), with only the last change per
 * key, so a redelivered batch leaves the same rows (idempotent).
 */
export const postgresSinkConnector = defineSinkConnector({
  type: "postgres-sink",
  config: CONFIG,
  createTask: () => new PostgresSinkTask(),
});

/** A batch's writes to one table: its deletes and its upserts, as statement parameters. */
interface TableWrite {
  table: TargetTable;
  deletes: number;
  /** JSON array of the deleted keys, or null for none. */
  deleteJson: string | null;
  upserts: number;
  upsertSql: string;
  /** JSON array of the upserted rows, or null for none. */
  upsertJson: string | null;
}

/** A batch decoded ahead by `prepare`, used by the `put` of the same records. */
interface Prepared {
  records: SinkRecord[];
  changes: Change[];
  writes: TableWrite[];
}

export class PostgresSinkTask implements SinkTask {
  private config!: PostgresSinkConfig;
  private context!: TaskContext;
  private client: pg.Client | null = null;
  private readonly targets = new Map<string, TargetTable>();
  private prepared: Prepared | null = null;

  async start(raw: Record<string, unknown>, context: TaskContext): Promise<void> {
    this.config = validateConfig(CONFIG, raw, "config");
    this.context = context;
    this.client = await connectPostgres(this.config.connection);
  }

  /**
   * Decodes the batch and builds its statements ahead, when that needs nothing from
   * Postgres: every topic's table known, no record bad, no column to add.
   */
  prepare(records: SinkRecord[]): void {
    this.prepared = null;
    const latest = new LatestPerKey();
    for (const record of records) {
      const table = this.targets.get(record.topic);
      if (table === undefined) return;
      let change: Change;
      try {
        change = decodeChange(record, table);
      } catch {
        return;
      }
      if (this.config.addColumns && change.row !== null && hasMissingColumn(table, change.row)) {
        return;
      }
      latest.add(change);
    }
    const changes = latest.changes();
    this.prepared = { records, changes, writes: writesOf(changes) };
  }

  async put(records: SinkRecord[]): Promise<void> {
    // A put of other records (the batch before, put again after a failure) leaves it be.
    const prepared = this.prepared?.records === records ? this.prepared : null;
    if (prepared !== null) {
      this.prepared = null;
      this.context.count("batches_prepared");
    }
    const changes = prepared?.changes ?? (await this.decodeAll(records));
    const writes = prepared?.writes ?? writesOf(changes);
    try {
      await this.apply(writes);
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      // Data errors (class 22, 23): find the record the table refuses, one at a time.
      if (!/^2[23]/.test(code) || changes.length === 1) {
        if (changes.length === 1 && /^2[23]/.test(code)) {
          throw new BadRecordError(changes[0]!.record, (err as Error).message, { cause: err });
        }
        throw new ConnectError("SINK_FAILED", `postgres sink: ${(err as Error).message}`, {
          cause: err,
          retriable: true,
        });
      }
      for (const c of changes) {
        try {
          await this.apply(writesOf([c]));
        } catch (one) {
          throw new BadRecordError(c.record, (one as Error).message, { cause: one });
        }
      }
    }
    let upserted = 0;
    let deleted = 0;
    for (const w of writes) {
      upserted += w.upserts;
      deleted += w.deletes;
    }
    this.context.count("rows_upserted", upserted);
    this.context.count("rows_deleted", deleted);
  }

  /** The batch's changes, the last per key; adds tables' missing columns on the way. */
  private async decodeAll(records: SinkRecord[]): Promise<Change[]> {
    const latest = new LatestPerKey();
    for (const record of records) {
      // Synchronous per record: a new topic or a new column (rare) is the only await.
      const table = this.targets.get(record.topic) ?? (await this.target(record.topic));
      const change = decodeChange(record, table);
      if (change.row !== null && hasMissingColumn(table, change.row)) {
        await this.addMissingColumns(table, change.row);
      }
      latest.add(change);
    }
    return latest.changes();
  }

  private async target(topic: string): Promise<TargetTable> {
    let t = this.targets.get(topic);
    if (t !== undefined) return t;
    const named = this.config.tables[topic];
    const name = named ?? `${this.config.schema}.${topic.slice(topic.lastIndexOf(".") + 1)}`;
    const dot = name.indexOf(".");
    const ref =
      dot < 0
        ? { schema: this.config.schema, table: name }
        : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
    const info = await describeTable(
      this.client!,
      ref,
      named === undefined ? "config.schema" : `config.tables.${topic}`,
    );
    t = { ...info, columns: await this.columns(info) };
    this.targets.set(topic, t);
    return t;
  }

  private async columns(t: TableInfo): Promise<Set<string>> {
    const res = await this.client!.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
      [t.schema, t.table],
    );
    return new Set(res.rows.map((r) => r.column_name));
  }

  /** A column added at the source arrives as a new field: add it here too. */
  private async addMissingColumns(table: TargetTable, row: Row): Promise<void> {
    if (!this.config.addColumns) return;
    for (const [name, value] of Object.entries(row)) {
      if (table.columns.has(name) || value === undefined) continue;
      const type =
        typeof value === "number"
          ? "numeric"
          : typeof value === "boolean"
            ? "boolean"
            : value !== null && typeof value === "object"
              ? "jsonb"
              : "text";
      await this.client!.query(
        `ALTER TABLE ${qualified(table)} ADD COLUMN IF NOT EXISTS ${ident(name)} ${type}`,
      );
      this.context.warn(`added column ${name} ${type} to ${table.schema}.${table.table}`);
      table.columns = await this.columns(table);
    }
  }

  /**
   * Writes a batch atomically. One table's deletes or upserts alone are one statement
   * (atomic and durable by itself: one round trip); anything more is a transaction.
   */
  private async apply(writes: TableWrite[]): Promise<void> {
    const client = this.client!;
    const single =
      writes.length === 1 && (writes[0]!.deleteJson === null || writes[0]!.upsertJson === null);
    if (single) {
      await writeTable(client, writes[0]!);
      return;
    }
    await client.query("BEGIN");
    try {
      for (const w of writes) await writeTable(client, w);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.client?.end().catch(() => {});
    this.client = null;
  }
}

/** Whether `row` has a field (with a value) that `table` has no column for. */
function hasMissingColumn(table: TargetTable, row: Row): boolean {
  for (const name in row) {
    if (!table.columns.has(name) && row[name] !== undefined) return true;
  }
  return false;
}

/**
 * The statements for `changes` (at most one change per key), per table: a delete of the
 * keys whose last change is a delete, an upsert of the others' rows. Keys are disjoint,
 * so the two commute.
 */
function writesOf(changes: Change[]): TableWrite[] {
  const byTable = new Map<TargetTable, Change[]>();
  for (const c of changes) mapEntry(byTable, c.table, () => []).push(c);
  const writes: TableWrite[] = [];
  for (const [table, list] of byTable) {
    const t = qualified(table);
    const deletes: Row[] = [];
    const rows: Row[] = [];
    // The rows' JSON: as it came where it stands unchanged (see sink-change.ts).
    let json = "[";
    for (const c of list) {
      if (c.row === null) {
        deletes.push(c.key);
        continue;
      }
      json += `${rows.length === 0 ? "" : ","}${c.json ?? JSON.stringify(c.row)}`;
      rows.push(c.row);
    }
    const names = new Set<string>();
    for (const r of rows) for (const k in r) if (table.columns.has(k)) names.add(k);
    const cols = [...names].map(ident).join(", ");
    const updates = [...names]
      .filter((n) => !table.keyColumns.includes(n))
      .map((n) => `${ident(n)} = EXCLUDED.${ident(n)}`);
    const keys = table.keyColumns.map(ident).join(", ");
    writes.push({
      table,
      deletes: deletes.length,
      deleteJson: deletes.length === 0 ? null : JSON.stringify(deletes),
      upserts: rows.length,
      upsertSql: `INSERT INTO ${t} (${cols}) SELECT ${cols} FROM json_populate_recordset(null::${t}, $1)
           ON CONFLICT (${keys}) DO ${updates.length === 0 ? "NOTHING" : `UPDATE SET ${updates.join(", ")}`}`,
      upsertJson: rows.length === 0 ? null : `${json}]`,
    });
  }
  return writes;
}

async function writeTable(client: pg.Client, w: TableWrite): Promise<void> {
  if (w.deleteJson !== null) {
    const t = qualified(w.table);
    const keys = w.table.keyColumns.map(ident).join(", ");
    await client.query(
      `DELETE FROM ${t} WHERE (${keys}) IN (SELECT ${keys} FROM json_populate_recordset(null::${t}, $1))`,
      [w.deleteJson],
    );
  }
  if (w.upsertJson !== null) await client.query(w.upsertSql, [w.upsertJson]);
}
