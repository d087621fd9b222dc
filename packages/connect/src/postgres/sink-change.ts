import type { SinkRecord } from "../connector.js";
import { BadRecordError } from "../errors.js";
import { type Row, asEnvelope } from "./change-envelope.js";
import { envelopeSpan } from "./envelope-span.js";
import type { TableInfo } from "./postgres-catalog.js";

/** A table the Postgres sink writes, with the columns it has (refreshed when it adds one). */
export interface TargetTable extends TableInfo {
  columns: Set<string>;
}

/**
 * What one record asks of its table: the row to upsert by `key`, or null to delete the
 * key's row. `json`, when set, is JSON text of exactly `row` (an envelope's `after` as it
 * came), so the row need not be serialised again.
 */
export interface Change {
  table: TargetTable;
  key: Row;
  row: Row | null;
  json: string | null;
  record: SinkRecord;
}

/**
 * Reads a record: the key must be a JSON object with every primary-key column; a null
 * value (tombstone) or an envelope with op "d" or a null `after` deletes; an envelope's
 * `after` or a plain JSON object is the row, with the key's values winning over its own.
 * Only `after` of an envelope is parsed (envelope-span.ts); anything unusual is parsed
 * whole and judged the same way.
 */
export function decodeChange(record: SinkRecord, table: TargetTable): Change {
  const key = decodeKey(record, table);
  const value = record.value;
  if (value === null) return { table, key, row: null, json: null, record };
  let row: unknown;
  let json: string | null = null;
  const span = envelopeSpan(value);
  if (span !== undefined) {
    if (span.isDelete) return { table, key, row: null, json: null, record };
    json = value.toString("utf8", span.afterStart, span.afterEnd);
    row = JSON.parse(json);
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value.toString());
    } catch {
      throw new BadRecordError(record, "the value is not JSON");
    }
    const env = asEnvelope(parsed);
    row = env === undefined ? parsed : env.op === "d" ? null : env.after;
  }
  if (row !== null && (typeof row !== "object" || Array.isArray(row))) {
    throw new BadRecordError(record, "the value is neither a change envelope nor a JSON object");
  }
  if (row === null) return { table, key, row: null, json: null, record };
  // The key's values win (as { ...row, ...key } would), set on the parsed row, which is
  // ours: no copy of every row (an envelope's after already holds the same key values).
  const r = row as Row;
  if (Object.hasOwn(key, "__proto__")) {
    return { table, key, row: { ...r, ...key }, json: null, record };
  }
  for (const k in key) {
    const v = key[k];
    if (r[k] !== v) {
      r[k] = v;
      json = null;
    }
  }
  return { table, key, row: r, json, record };
}

function decodeKey(record: SinkRecord, table: TargetTable): Row {
  let key: unknown;
  try {
    key = record.key === null ? null : JSON.parse(record.key.toString());
  } catch {
    throw new BadRecordError(record, "the key is not JSON");
  }
  if (key === null || typeof key !== "object") {
    throw new BadRecordError(
      record,
      `the key must be a JSON object of ${table.keyColumns.join(", ")}`,
    );
  }
  for (const k of table.keyColumns) {
    if ((key as Row)[k] === undefined || (key as Row)[k] === null) {
      throw new BadRecordError(record, `the key lacks primary-key column ${k}`);
    }
  }
  return key as Row;
}

/**
 * Keeps the last change per key of each table (a batch's earlier ones are dropped: the
 * last one says how the row ends). A key is its primary-key columns' values; other
 * fields a key object may carry do not make two keys differ.
 */
export class LatestPerKey {
  private readonly byTable = new Map<TargetTable, Map<unknown, Change>>();

  add(change: Change): void {
    let perKey = this.byTable.get(change.table);
    if (perKey === undefined) {
      perKey = new Map();
      this.byTable.set(change.table, perKey);
    }
    const cols = change.table.keyColumns;
    let id: unknown;
    if (cols.length === 1) {
      const v = change.key[cols[0]!];
      // Numbers and strings as themselves; other values as JSON behind a NUL, which no
      // string Postgres can store holds, so the two kinds never meet.
      id = typeof v === "number" || typeof v === "string" ? v : `\u0000${JSON.stringify(v)}`;
    } else {
      id = `\u0000${JSON.stringify(cols.map((c) => change.key[c]))}`;
    }
    perKey.set(id, change);
  }

  changes(): Change[] {
    const out: Change[] = [];
    for (const perKey of this.byTable.values()) for (const c of perKey.values()) out.push(c);
    return out;
  }
}
