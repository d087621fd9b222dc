import pg from "pg";
import type { SourceRecord } from "../connector.js";
import { type BinaryValueJson, binaryValueJson } from "./binary-value-json.js";
import type { BinaryCopyRows } from "./binary-copy-rows.js";
import { objectKeyOrder } from "./change-envelope.js";
import type { JsonOut } from "./json-out.js";
import { type TableInfo, ident, qualified } from "./postgres-catalog.js";

/** A table's columns as a query reports them, and the session settings their JSON needs. */
export interface SnapshotColumnTypes {
  fields: { name: string; oid: number }[];
  /** OIDs of enum types among them. */
  enums: number[];
  extraFloatDigits: number;
}

interface Column {
  name: string;
  oid: number;
  /** Undefined: read as text (the type's output function) and parsed by node-postgres. */
  binary: BinaryValueJson | undefined;
  parse: (text: string) => unknown;
}

/**
 * Turns the rows of one table's binary COPY straight into snapshot records (key and
 * envelope JSON in shared buffers, no row objects): `"after"` holds the columns in the
 * order a parsed row object would list them, `key` the primary-key columns, each value as
 * JSON.stringify writes what node-postgres parses from its text form (binary-value-json).
 * A column whose type has no binary reader is selected through its output function
 * (`format('%s', c)`) and parsed by node-postgres, as the query protocol would; those
 * columns are listed in `textColumns`, for the log.
 */
export class SnapshotRowEncoder {
  /** `{"name":` (first) or `,"name":`, per column in object order. */
  private readonly names: Buffer[];
  /** COPY field index of each column in object order. */
  private readonly fieldOf: number[];
  private readonly columns: Column[];
  /** Per key column: its `{"k":` / `,"k":` and its index in object order. */
  private readonly keyNames: Buffer[];
  private readonly keyAt: number[];
  private readonly valueStart: Int32Array;
  private readonly valueEnd: Int32Array;
  private head: Buffer = Buffer.alloc(0);
  private tail: Buffer = Buffer.alloc(0);

  private constructor(
    readonly table: TableInfo,
    readonly topic: string,
    columns: Column[],
    /** What `of` needs to make this encoder again (plain data, to post to a thread). */
    readonly types: SnapshotColumnTypes,
  ) {
    this.columns = columns;
    const order = objectKeyOrder(columns.map((c) => c.name));
    this.fieldOf = order;
    this.names = order.map((f, i) =>
      Buffer.from(`${i === 0 ? "{" : ","}${JSON.stringify(columns[f]!.name)}:`),
    );
    const keyOrder = objectKeyOrder(table.keyColumns);
    this.keyNames = keyOrder.map((k, i) =>
      Buffer.from(`${i === 0 ? "{" : ","}${JSON.stringify(table.keyColumns[k])}:`),
    );
    this.keyAt = keyOrder.map((k) =>
      order.findIndex((f) => columns[f]!.name === table.keyColumns[k]),
    );
    this.valueStart = new Int32Array(order.length);
    this.valueEnd = new Int32Array(order.length);
  }

  /**
   * Reads the table's columns and their types inside the snapshot transaction (the types a
   * query of the table would report: a domain as its base type).
   */
  static async describe(
    reader: pg.Client,
    table: TableInfo,
    topic: string,
    extraFloatDigits: number,
  ): Promise<SnapshotRowEncoder> {
    const res = await reader.query(`SELECT * FROM ${qualified(table)} LIMIT 0`);
    const oids = res.fields.map((f) => f.dataTypeID);
    const enums = await reader.query<{ oid: number }>(
      "SELECT oid::int AS oid FROM pg_type WHERE oid = ANY($1::oid[]) AND typtype = 'e'",
      [oids],
    );
    const types: SnapshotColumnTypes = {
      fields: res.fields.map((f) => ({ name: f.name, oid: f.dataTypeID })),
      enums: enums.rows.map((r) => r.oid),
      extraFloatDigits,
    };
    return SnapshotRowEncoder.of(table, topic, types);
  }

  /**
   * The encoder of a table whose columns are `types` (as `describe` read them): how an
   * encoding thread, which has no connection, makes the same encoder.
   */
  static of(table: TableInfo, topic: string, types: SnapshotColumnTypes): SnapshotRowEncoder {
    const ctx = { enums: new Set(types.enums), extraFloatDigits: types.extraFloatDigits };
    const columns = types.fields.map((f) => ({
      name: f.name,
      oid: f.oid,
      binary: binaryValueJson(f.oid, ctx),
      parse: pg.types.getTypeParser(f.oid, "text") as (text: string) => unknown,
    }));
    return new SnapshotRowEncoder(table, topic, columns, types);
  }

  /** The COPY that feeds `encode`. */
  get copySql(): string {
    const list = this.columns.map((c) => {
      const q = ident(c.name);
      return c.binary === undefined
        ? `CASE WHEN ${q} IS NULL THEN NULL ELSE format('%s', ${q}) END`
        : q;
    });
    return `COPY (SELECT ${list.join(", ")} FROM ${qualified(this.table)}) TO STDOUT (FORMAT binary)`;
  }

  get fieldCount(): number {
    return this.columns.length;
  }

  /** Columns read as text, with their type OIDs (empty when all are read in binary). */
  get textColumns(): string[] {
    return this.columns
      .filter((c) => c.binary === undefined)
      .map((c) => `${c.name} (type ${c.oid})`);
  }

  /**
   * The envelope around `after` for the records that follow: `head` + after + `tail`
   * (JSON of { before, after, op, ts_ms, source }, see change-envelope.ts).
   */
  setEnvelope(head: Buffer, tail: Buffer): void {
    this.head = head;
    this.tail = tail;
  }

  /** The record of the row `rows` holds, written into `out`. */
  encode(
    out: JsonOut,
    rows: BinaryCopyRows,
    src: Buffer,
    dv: DataView,
    timestamp: number,
  ): SourceRecord {
    out.begin();
    this.writeValue(out, rows, src, dv);
    const value = out.end();
    out.begin();
    this.copyKey(out, value);
    const key = out.end();
    return { topic: this.topic, key, value, timestamp };
  }

  /**
   * The row's key JSON (its key columns, written from the row as in its value), appended
   * to `out`: for a record written in place into its batch, whose partition the key picks
   * before the value is written.
   */
  writeKey(out: JsonOut, rows: BinaryCopyRows, src: Buffer, dv: DataView): void {
    const { keyNames, keyAt, fieldOf } = this;
    for (let k = 0; k < keyNames.length; k++) {
      out.bytes(keyNames[k]!);
      this.writeColumn(out, fieldOf[keyAt[k]!]!, rows, src, dv);
    }
    out.text("}");
  }

  /** The row's value JSON (the envelope), appended to `out`. */
  writeValue(out: JsonOut, rows: BinaryCopyRows, src: Buffer, dv: DataView): void {
    const { names, fieldOf, valueStart, valueEnd } = this;
    out.bytes(this.head);
    for (let i = 0; i < names.length; i++) {
      out.bytes(names[i]!);
      valueStart[i] = out.written;
      this.writeColumn(out, fieldOf[i]!, rows, src, dv);
      valueEnd[i] = out.written;
    }
    out.text("}");
    out.bytes(this.tail);
  }

  /** The JSON of COPY field `f` of the row. */
  private writeColumn(
    out: JsonOut,
    f: number,
    rows: BinaryCopyRows,
    src: Buffer,
    dv: DataView,
  ): void {
    const len = rows.lengths[f]!;
    const c = this.columns[f]!;
    const start = rows.starts[f]!;
    if (len < 0) out.text("null");
    else if (c.binary !== undefined) c.binary(out, src, dv, start, len);
    else out.text(JSON.stringify(c.parse(src.toString("utf8", start, start + len))) ?? "null");
  }

  /** The key: the key columns' JSON copied from the value just written. */
  private copyKey(out: JsonOut, value: Buffer): void {
    for (let k = 0; k < this.keyNames.length; k++) {
      out.bytes(this.keyNames[k]!);
      const i = this.keyAt[k]!;
      out.raw(value, this.valueStart[i]!, this.valueEnd[i]!);
    }
    out.text("}");
  }
}
