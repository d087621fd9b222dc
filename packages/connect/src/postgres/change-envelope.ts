/**
 * The value of a change record, Debezium's envelope (JSON):
 *
 *   { before: row | null, after: row | null, op: "r" | "c" | "u" | "d", ts_ms,
 *     source: { connector: "postgresql", name, db, schema, table, lsn, txId, snapshot, ts_ms } }
 *
 * `r` is a snapshot read, `c` insert, `u` update, `d` delete. `before` is the old row
 * when the table's REPLICA IDENTITY gives it (FULL), the key columns for a delete
 * otherwise. The key is the JSON object of the primary-key columns, in key order, so a
 * row's records all land in one partition. A delete is followed by a tombstone (same key,
 * null value), so a compacted topic forgets the row.
 */
export type Op = "r" | "c" | "u" | "d";

export type Row = Record<string, unknown>;

export interface ChangeEnvelope {
  before: Row | null;
  after: Row | null;
  op: Op;
  ts_ms: number;
  source: {
    connector: "postgresql";
    name: string;
    db: string;
    schema: string;
    table: string;
    lsn: string | null;
    txId: number | null;
    snapshot: boolean;
    ts_ms: number;
  };
}

/**
 * An envelope's JSON split around its `after` value: head + JSON(after) + tail is
 * JSON.stringify(envelope), byte for byte. Records of one table and batch share it.
 */
export function envelopeAround(e: Omit<ChangeEnvelope, "after">): { head: Buffer; tail: Buffer } {
  const rest = JSON.stringify({ op: e.op, ts_ms: e.ts_ms, source: e.source });
  return {
    head: Buffer.from(`{"before":${JSON.stringify(e.before)},"after":`),
    tail: Buffer.from(`,${rest.slice(1)}`),
  };
}

/** Reads an envelope back; undefined when the value is not one (e.g. a plain row). */
export function asEnvelope(value: unknown): ChangeEnvelope | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const v = value as Partial<ChangeEnvelope>;
  if (typeof v.op !== "string" || !("after" in v) || !("before" in v)) return undefined;
  return v as ChangeEnvelope;
}

/**
 * The order in which a JS object lists properties added in `names` order (JSON.stringify
 * follows it): integer-like names first, ascending, then the others as added.
 */
export function objectKeyOrder(names: readonly string[]): number[] {
  const isIndex = (n: string) => /^(0|[1-9]\d*)$/.test(n) && Number(n) < 4294967295;
  const all = names.map((_, i) => i);
  return [
    ...all.filter((i) => isIndex(names[i]!)).sort((a, b) => Number(names[a]) - Number(names[b])),
    ...all.filter((i) => !isIndex(names[i]!)),
  ];
}
