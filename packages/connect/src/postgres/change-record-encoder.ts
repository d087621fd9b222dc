import type { SourceRecord } from "../connector.js";
import { type ChangeEnvelope, type Op, type Row, envelopeAround } from "./change-envelope.js";
import { JsonOut } from "./json-out.js";
import type { DecodedChange } from "./pgoutput-changes.js";
import type { TableInfo } from "./postgres-catalog.js";

/** What the records of one transaction (or one snapshot batch) share. */
export interface ChangeMeta {
  lsn: string | null;
  txId: number | null;
  /** Commit time (snapshot: read time), ms. */
  ts: number;
  snapshot: boolean;
}

/**
 * Builds the change records of the stream: key and envelope (change-envelope.ts) as JSON
 * in shared buffers (json-out.ts). What all records of a table, operation and transaction
 * share — the end of the envelope from `op` on, with its `source` block — is encoded once
 * per transaction and appended to each change's `before`/`after` part.
 */
export class ChangeRecordEncoder {
  private readonly out = new JsonOut();
  private tails = new Map<TableInfo, Map<Op, Buffer>>();
  private readonly topics = new Map<TableInfo, string>();
  private meta: ChangeMeta = { lsn: null, txId: null, ts: 0, snapshot: false };
  private now = 0;

  constructor(
    private readonly names: { connector: string; db: string; topicOf(t: TableInfo): string },
  ) {}

  /** Starts the records of one transaction (`now`: their `ts_ms`). */
  begin(meta: ChangeMeta, now = Date.now()): void {
    this.meta = meta;
    this.now = now;
    this.tails.clear();
  }

  /** The envelope around `after` (head + JSON(after) + tail), e.g. for snapshot records. */
  envelope(table: TableInfo, op: Op, before: Row | null): { head: Buffer; tail: Buffer } {
    return envelopeAround({ before, op, ts_ms: this.now, source: this.source(table) });
  }

  /** The record of a decoded change (pgoutput-changes.ts): its body, then the tail. */
  record(c: DecodedChange): SourceRecord {
    const { table, op, key } = c;
    const out = this.out;
    out.begin();
    out.copy(c.chunk, c.start, c.end);
    out.bytes(this.tail(table, op));
    const record: SourceRecord = { topic: this.topicOf(table), key, value: out.end() };
    if (this.meta.ts !== 0) record.timestamp = this.meta.ts;
    return record;
  }

  /**
   * The table's topic name, built once: one string per table, not per record (and the
   * same string object, which the runtime compares by reference when grouping by topic).
   */
  private topicOf(table: TableInfo): string {
    let topic = this.topics.get(table);
    if (topic === undefined) {
      topic = this.names.topicOf(table);
      this.topics.set(table, topic);
    }
    return topic;
  }

  private tail(table: TableInfo, op: Op): Buffer {
    let byOp = this.tails.get(table);
    if (byOp === undefined) {
      byOp = new Map();
      this.tails.set(table, byOp);
    }
    let tail = byOp.get(op);
    if (tail === undefined) {
      tail = this.envelope(table, op, null).tail;
      byOp.set(op, tail);
    }
    return tail;
  }

  private source(table: TableInfo): ChangeEnvelope["source"] {
    const m = this.meta;
    return {
      connector: "postgresql",
      name: this.names.connector,
      db: this.names.db,
      schema: table.schema,
      table: table.table,
      lsn: m.lsn,
      txId: m.txId,
      snapshot: m.snapshot,
      ts_ms: m.ts,
    };
  }
}
