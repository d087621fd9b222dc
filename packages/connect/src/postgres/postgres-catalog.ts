import pg from "pg";
import { ConnectConfigError, ConnectError } from "../errors.js";

/** A selected table: its name and primary-key columns, in key order. */
export interface TableInfo {
  schema: string;
  table: string;
  keyColumns: string[];
}

/** Quotes an identifier for SQL ("my""table"). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualified(t: { schema: string; table: string }): string {
  return `${ident(t.schema)}.${ident(t.table)}`;
}

/** "schema.table" or "table" (schema public). */
export function splitTableName(name: string): { schema: string; table: string } {
  const dot = name.indexOf(".");
  return dot < 0
    ? { schema: "public", table: name }
    : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

export async function connectPostgres(url: string, replication = false): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    ...(replication ? { replication: "database" } : {}),
  });
  // A dropped connection (server restart) would otherwise be an uncaught 'error' event;
  // the query or stream in flight fails and reports it.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new ConnectError(
      "POSTGRES",
      `cannot connect to ${redact(url)}: ${(err as Error).message}`,
      {
        cause: err,
        retriable: true,
      },
    );
  }
  return client;
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

/**
 * Checks what the source needs before creating anything: wal_level=logical and, per
 * table, that it exists and has a primary key (the record key). `field` names the config
 * setting in errors.
 */
export async function describeSourceTables(
  client: pg.Client,
  tables: string[],
  field: string,
): Promise<TableInfo[]> {
  const wal = await client.query<{ wal_level: string }>("SHOW wal_level");
  if (wal.rows[0]?.wal_level !== "logical") {
    throw new ConnectError(
      "POSTGRES",
      `wal_level is ${wal.rows[0]?.wal_level}, change capture needs logical: set wal_level = logical in postgresql.conf and restart Postgres`,
    );
  }
  const out: TableInfo[] = [];
  for (const name of tables) out.push(await describeTable(client, splitTableName(name), field));
  return out;
}

/** A table's primary key; an error naming `field` when it is missing or has none. */
export async function describeTable(
  client: pg.Client,
  { schema, table }: { schema: string; table: string },
  field: string,
): Promise<TableInfo> {
  const res = await client.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary
      ORDER BY k.ord`,
    [schema, table],
  );
  if (res.rows.length === 0) {
    const exists = await client.query("SELECT to_regclass($1) AS r", [
      qualified({ schema, table }),
    ]);
    throw new ConnectConfigError(
      field,
      exists.rows[0]?.r === null
        ? `table ${schema}.${table} does not exist`
        : `table ${schema}.${table} has no primary key: records are keyed by it, add one`,
    );
  }
  return { schema, table, keyColumns: res.rows.map((r) => r.attname) };
}

/** Creates the publication for the tables, or adds the tables it lacks. */
export async function ensurePublication(
  client: pg.Client,
  publication: string,
  tables: TableInfo[],
): Promise<void> {
  const list = tables.map(qualified).join(", ");
  const exists = await client.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [
    publication,
  ]);
  if (exists.rows.length === 0) {
    await client.query(`CREATE PUBLICATION ${ident(publication)} FOR TABLE ${list}`);
    return;
  }
  const have = await client.query<{ schemaname: string; tablename: string }>(
    "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1",
    [publication],
  );
  const present = new Set(have.rows.map((r) => `${r.schemaname}.${r.tablename}`));
  const missing = tables.filter((t) => !present.has(`${t.schema}.${t.table}`));
  if (missing.length > 0) {
    await client.query(
      `ALTER PUBLICATION ${ident(publication)} ADD TABLE ${missing.map(qualified).join(", ")}`,
    );
  }
}

export interface SlotState {
  confirmedFlushLsn: string | null;
  active: boolean;
}

export async function readSlot(client: pg.Client, slot: string): Promise<SlotState | undefined> {
  const res = await client.query<{ confirmed_flush_lsn: string | null; active: boolean }>(
    "SELECT confirmed_flush_lsn, active FROM pg_replication_slots WHERE slot_name = $1",
    [slot],
  );
  const row = res.rows[0];
  return row === undefined
    ? undefined
    : { confirmedFlushLsn: row.confirmed_flush_lsn, active: row.active };
}

/**
 * Creates the slot on a replication connection and keeps that connection open: the
 * snapshot it exports is valid until the connection runs another command or closes, and
 * the slot's changes start exactly at `consistentPoint`, where the snapshot ends.
 */
export async function createSlotWithSnapshot(
  url: string,
  slot: string,
): Promise<{ connection: pg.Client; snapshotName: string; consistentPoint: string }> {
  const connection = await connectPostgres(url, true);
  const res = await connection.query<{ consistent_point: string; snapshot_name: string }>(
    `CREATE_REPLICATION_SLOT ${ident(slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`,
  );
  const row = res.rows[0]!;
  return { connection, snapshotName: row.snapshot_name, consistentPoint: row.consistent_point };
}
