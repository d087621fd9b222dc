import type { Pgoutput } from "pg-logical-replication";
import { ConnectError } from "../errors.js";
import { type Op, objectKeyOrder } from "./change-envelope.js";
import { JsonOut } from "./json-out.js";
import type { TableInfo } from "./postgres-catalog.js";
import { type TextValueJson, textValueJson } from "./text-value-json.js";

/** One row change of a selected table, its envelope up to `after` written (see `decode`). */
export interface DecodedChange {
  table: TableInfo;
  op: Op;
  /**
   * `{"before":…,"after":…` — the envelope without its closing part (from `op` on) — is
   * `chunk[start, end)` (no view per change: it is copied into the record at commit).
   */
  chunk: Buffer;
  start: number;
  end: number;
  key: Buffer;
}

const ABSENT = 0; // not in the row object (an unchanged TOAST value with no old row)
const NULL = 1;
const VALUE = 2;

/** One decoded tuple: per relation column its kind and its JSON in the scratch buffer. */
class Tuple {
  kind = new Uint8Array(0);
  start = new Int32Array(0);
  end = new Int32Array(0);

  reset(columns: number): void {
    if (this.kind.length < columns) {
      this.kind = new Uint8Array(columns);
      this.start = new Int32Array(columns);
      this.end = new Int32Array(columns);
    }
    this.kind.fill(ABSENT, 0, columns);
  }
}

/** What a relation message says about a table, prepared for writing its rows. */
class RelationShape {
  /** `"name":` per relation column. */
  readonly names: Buffer[];
  readonly writers: TextValueJson[];
  /** Relation columns in the order a row object lists them (JSON.stringify's order). */
  readonly order: number[];
  /** The replica identity columns, in row-object order (the old-key tuple's object). */
  readonly identity: number[];
  /** The record key: `{"k":`/`,"k":` per primary-key column and its relation column. */
  readonly keyPrefixes: Buffer[];
  readonly keyColumns: number[];

  constructor(
    readonly table: TableInfo,
    readonly relation: Pgoutput.MessageRelation,
  ) {
    const names = relation.columns.map((c) => c.name);
    this.names = names.map((n) => Buffer.from(`${JSON.stringify(n)}:`));
    this.writers = relation.columns.map((c) => textValueJson(c.typeOid));
    this.order = objectKeyOrder(names);
    const identity = objectKeyOrder(relation.keyColumns).map((k) => relation.keyColumns[k]!);
    this.identity = identity.map((n) => names.indexOf(n));
    const keyOrder = objectKeyOrder(table.keyColumns);
    this.keyPrefixes = keyOrder.map((k, i) =>
      Buffer.from(`${i === 0 ? "{" : ","}${JSON.stringify(table.keyColumns[k])}:`),
    );
    this.keyColumns = keyOrder.map((k) => names.indexOf(table.keyColumns[k]!));
  }
}

/**
 * Decodes pgoutput's row messages (Insert, Update, Delete) straight into change-record
 * JSON, without row objects: the same bytes JSON.stringify wrote for the rows
 * pg-logical-replication's parser makes (values parsed by node-postgres, an unchanged
 * TOAST value taken from the old row or left out, the old key as an object of the
 * replica identity columns). The other messages (Begin, Commit, Relation, …) are parsed
 * by pg-logical-replication; each Relation must be passed to `relation()`.
 *
 *   Insert => 'I' relation:int32 'N' TupleData
 *   Update => 'U' relation:int32 [('K' | 'O') TupleData] 'N' TupleData
 *   Delete => 'D' relation:int32 ('K' | 'O') TupleData
 *   TupleData => columns:int16 [kind:uint8 ('n' | 'u' | 't' length:int32 text:bytes)]
 */
export class PgoutputChanges {
  private readonly shapes = new Map<number, RelationShape | null>();
  /** Holds the values of the message being decoded; never handed out. */
  private readonly scratch = new JsonOut(1 << 16);
  private readonly old = new Tuple();
  private readonly new = new Tuple();
  private readonly out = new JsonOut();

  constructor(
    private readonly tableOf: (relation: Pgoutput.MessageRelation) => TableInfo | undefined,
  ) {}

  relation(m: Pgoutput.MessageRelation): void {
    const table = this.tableOf(m);
    this.shapes.set(m.relationOid, table === undefined ? null : new RelationShape(table, m));
  }

  /** Whether `payload` is a row message (the others go to pg-logical-replication). */
  static isRowMessage(payload: Buffer): boolean {
    const tag = payload[0];
    return tag === 0x49 || tag === 0x55 || tag === 0x44;
  }

  /** Decodes a row message; its changes (one, or delete + insert for a new key) to `emit`. */
  decode(payload: Buffer, emit: (change: DecodedChange) => void): void {
    const tag = payload[0]!;
    const shape = this.shapes.get(payload.readInt32BE(1));
    if (shape === undefined) {
      throw new ConnectError("POSTGRES", "pgoutput: a row message for a relation never described");
    }
    if (shape === null) return; // not a selected table
    this.scratch.clear();
    let p = 5;
    let sub = payload[p++]!;
    if (tag === 0x49) {
      this.readTuple(payload, p, shape, this.new, null);
      emit(this.change(shape, "c", null, this.new));
      return;
    }
    // 'K': the old key (it changed); 'O': the whole old row (REPLICA IDENTITY FULL).
    let oldKind = 0;
    if (sub === 0x4b || sub === 0x4f) {
      oldKind = sub;
      p = this.readTuple(payload, p, shape, this.old, null);
      if (tag === 0x55) sub = payload[p++]!;
    }
    if (tag === 0x44) {
      if (oldKind === 0) throw new ConnectError("POSTGRES", "pgoutput: a delete without old row");
      emit(this.change(shape, "d", this.old, null, oldKind === 0x4b));
      return;
    }
    if (sub !== 0x4e) throw new ConnectError("POSTGRES", "pgoutput: an update without new row");
    this.readTuple(payload, p, shape, this.new, oldKind === 0x4f ? this.old : null);
    if (oldKind === 0x4b) {
      const oldKey = this.key(shape, this.old);
      const newKey = this.key(shape, this.new);
      if (!oldKey.equals(newKey)) {
        // The key changed: the old key's row is gone (delete + tombstone), a new one is born.
        emit(this.change(shape, "d", this.old, null, true, oldKey));
        emit(this.change(shape, "c", null, this.new, false, newKey));
        return;
      }
      emit(this.change(shape, "u", null, this.new, false, newKey));
      return;
    }
    emit(this.change(shape, "u", oldKind === 0x4f ? this.old : null, this.new));
  }

  private change(
    shape: RelationShape,
    op: Op,
    before: Tuple | null,
    after: Tuple | null,
    beforeIsKey = false,
    key?: Buffer,
  ): DecodedChange {
    const out = this.out;
    const keyBuf = key ?? this.key(shape, (after ?? before)!);
    out.begin();
    out.text('{"before":');
    if (before === null) out.text("null");
    else this.writeRow(shape, before, beforeIsKey ? shape.identity : shape.order, beforeIsKey);
    out.text(',"after":');
    if (after === null) out.text("null");
    else this.writeRow(shape, after, shape.order, false);
    const start = out.endSpan();
    return { table: shape.table, op, chunk: out.buf, start, end: out.pos, key: keyBuf };
  }

  /** A row object's JSON; `nullIsAbsent`: a NULL is left out (the old-key object). */
  private writeRow(shape: RelationShape, t: Tuple, columns: number[], nullIsAbsent: boolean) {
    const out = this.out;
    const src = this.scratch.buf;
    out.text("{");
    let first = true;
    for (const c of columns) {
      const kind = c < 0 ? ABSENT : t.kind[c]!;
      if (kind === ABSENT || (nullIsAbsent && kind === NULL)) continue;
      if (!first) out.text(",");
      first = false;
      out.bytes(shape.names[c]!);
      if (kind === NULL) out.text("null");
      else out.raw(src, t.start[c]!, t.end[c]!);
    }
    out.text("}");
  }

  /** The record key of a row: its primary-key columns (null where missing). */
  private key(shape: RelationShape, t: Tuple): Buffer {
    const out = this.out;
    const src = this.scratch.buf;
    out.begin();
    for (let i = 0; i < shape.keyColumns.length; i++) {
      out.bytes(shape.keyPrefixes[i]!);
      const c = shape.keyColumns[i]!;
      if (c < 0 || t.kind[c] !== VALUE) out.text("null");
      else out.raw(src, t.start[c]!, t.end[c]!);
    }
    out.text("}");
    return out.end();
  }

  /** Reads TupleData at `p` into `t`; returns the position after it. */
  private readTuple(
    src: Buffer,
    p: number,
    shape: RelationShape,
    t: Tuple,
    fallback: Tuple | null,
  ): number {
    const columns = src.readInt16BE(p);
    p += 2;
    t.reset(Math.max(columns, shape.names.length));
    const scratch = this.scratch;
    for (let i = 0; i < columns; i++) {
      const kind = src[p++];
      if (kind === 0x6e) t.kind[i] = NULL;
      else if (kind === 0x74) {
        const len = src.readInt32BE(p);
        p += 4;
        t.start[i] = scratch.written;
        shape.writers[i]!(scratch, src, p, p + len);
        t.end[i] = scratch.written;
        t.kind[i] = VALUE;
        p += len;
      } else if (kind === 0x75) {
        // Unchanged TOAST value: the old row's, if Postgres sent it.
        if (fallback !== null && fallback.kind[i] !== ABSENT) {
          t.kind[i] = fallback.kind[i]!;
          t.start[i] = fallback.start[i]!;
          t.end[i] = fallback.end[i]!;
        }
      } else {
        throw new ConnectError("POSTGRES", `pgoutput: unknown column kind ${kind}`);
      }
    }
    return p;
  }
}
