import type pg from "pg";
import type { Pgoutput } from "pg-logical-replication";
import { type ConfigOf, validateConfig } from "../config-def.js";
import {
  type SourceBatch,
  type SourceRecord,
  type SourceTask,
  type SourceTaskContext,
  defineSourceConnector,
} from "../connector.js";
import { ConnectError } from "../errors.js";
import { ChangeRecordEncoder } from "./change-record-encoder.js";
import { type DecodedChange, PgoutputChanges } from "./pgoutput-changes.js";
import { parseLsn } from "./lsn.js";
import {
  type TableInfo,
  connectPostgres,
  createSlotWithSnapshot,
  describeSourceTables,
  ensurePublication,
  qualified,
  readSlot,
} from "./postgres-catalog.js";
import { ReplicationStream } from "./replication-stream.js";
import { SnapshotEncoderPool } from "./snapshot-encoder-pool.js";
import { TableSnapshot } from "./table-snapshot.js";

const CONFIG = {
  connection: { type: "string", required: true, doc: "postgres://user:password@host:port/db" },
  tables: { type: "list", required: true, doc: "tables to capture, as schema.table" },
  topicPrefix: {
    type: "string",
    required: true,
    doc: "topics are <topicPrefix>.<schema>.<table>, plus .transactions and .heartbeat",
  },
  slotName: { type: "string", doc: "replication slot (default tributary_<topicPrefix>)" },
  publicationName: { type: "string", doc: "publication (default tributary_<topicPrefix>)" },
  topicPartitions: {
    type: "int",
    default: 1,
    min: 1,
    max: 10_000,
    doc: "partitions per table topic",
  },
  snapshotFetchRows: {
    type: "int",
    default: 10_000,
    min: 1,
    max: 1_000_000,
    doc: "records per snapshot batch sent to the log",
  },
  snapshotEncodeThreads: {
    type: "int",
    default: 0,
    min: 0,
    max: 16,
    doc: "threads that encode snapshot rows into record batches while the task reads the COPY and appends (0: the task's thread encodes them; so far threads cost more CPU per row than they save, see docs/connect.md)",
  },
  maxBatchRecords: {
    type: "int",
    default: 20_000,
    min: 1,
    max: 1_000_000,
    doc: "records per send",
  },
  heartbeatIntervalMs: {
    type: "int",
    default: 10_000,
    min: 100,
    max: 3_600_000,
    doc: "how often an idle source confirms the server's position so WAL is not pinned",
  },
} as const;

export type PostgresSourceConfig = ConfigOf<typeof CONFIG>;

/** The one source partition of a task: its slot. Its offset: where to resume. */
interface SlotOffset {
  snapshotDone: boolean;
  lsn: string;
}

/**
 * Postgres change capture (`type: "postgres-source"`), one task per slot. On first start
 * it creates the publication and the slot, reads a consistent snapshot of the tables (the
 * snapshot the slot exported, so the changes follow it exactly), then streams the changes
 * from the slot. See docs/connect.md for the records it writes.
 */
export const postgresSourceConnector = defineSourceConnector({
  type: "postgres-source",
  config: CONFIG,
  createTask: () => new PostgresSourceTask(),
});

interface OpenTransaction {
  xid: number;
  changes: DecodedChange[];
}

type Phase =
  | { kind: "snapshot"; snapshot: TableSnapshot; consistentPoint: string }
  | { kind: "snapshot-done"; consistentPoint: string }
  | { kind: "streaming" };

/** The task: snapshot first (unless the offsets say it is done), then the stream. */
export class PostgresSourceTask implements SourceTask {
  private config!: PostgresSourceConfig;
  private context!: SourceTaskContext;
  private client: pg.Client | null = null;
  private tables = new Map<string, TableInfo>();
  private encoder!: ChangeRecordEncoder;
  private readonly changes = new PgoutputChanges((relation) => this.tableOf(relation));
  private slot = "";
  private database = "";
  private publication = "";
  private phase!: Phase;
  private stream: ReplicationStream | null = null;
  private buffer: SourceRecord[] = [];
  private tx: OpenTransaction | null = null;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private paused = false;
  private confirmedLsn = "0/0";
  private lastPolledLsn = "0/0";
  private serverLsn = "0/0";
  private lastHeartbeat = 0;
  private pingTimer: NodeJS.Timeout | null = null;
  /** Snapshot encoding threads started before the snapshot opens (then it owns them). */
  private pool: SnapshotEncoderPool | null = null;

  async start(raw: Record<string, unknown>, context: SourceTaskContext): Promise<void> {
    this.config = validateConfig(CONFIG, raw, "config");
    this.context = context;
    const prefix = this.config.topicPrefix.replace(/[^a-zA-Z0-9_]/g, "_").toLowerCase();
    this.slot = this.config.slotName ?? `tributary_${prefix}`;
    this.publication = this.config.publicationName ?? `tributary_${prefix}`;
    // A snapshot to take (as far as the offsets tell): its encoding threads start now, as
    // a thread takes ~0.3 s of CPU to load its modules; on the other core, while this one
    // connects, creates the topics and Postgres the slot.
    const threads = context.encodesBatches ? this.config.snapshotEncodeThreads : 0;
    const stored = context.storedOffset(this.slot) as SlotOffset | undefined;
    if (threads > 0 && !stored?.snapshotDone) this.pool = new SnapshotEncoderPool(threads);
    try {
      await this.connectAndOpen();
    } catch (e) {
      await this.pool?.close();
      this.pool = null;
      throw e;
    }
  }

  private async connectAndOpen(): Promise<void> {
    this.client = await connectPostgres(this.config.connection);
    const db = await this.client.query<{ d: string }>("SELECT current_database() AS d");
    this.database = db.rows[0]!.d;
    this.encoder = new ChangeRecordEncoder({
      connector: this.config.topicPrefix,
      db: this.database,
      topicOf: (t) => this.topicOf(t),
    });
    const tables = await describeSourceTables(this.client, this.config.tables, "config.tables");
    for (const t of tables) this.tables.set(`${t.schema}.${t.table}`, t);
    await ensurePublication(this.client, this.publication, tables);
    // The log's topic creation (files, fsyncs) and Postgres' slot creation (it waits for
    // running transactions) are independent: they overlap. Both end before start returns.
    await Promise.all([this.createTopics(tables), this.openSlot(tables)]);
  }

  /** Picks up the stored position, or makes a new slot and opens its snapshot. */
  private async openSlot(tables: TableInfo[]): Promise<void> {
    const context = this.context;
    const client = this.client!;
    const stored = context.storedOffset(this.slot) as SlotOffset | undefined;
    const slot = await readSlot(client, this.slot);
    if (slot?.active) {
      throw new ConnectError("POSTGRES", `slot ${this.slot} is in use by another connection`, {
        retriable: true,
      });
    }
    context.gauge("snapshot_tables", tables.length);
    if (stored?.snapshotDone && slot !== undefined) {
      await this.pool?.close();
      this.pool = null;
      context.gauge("snapshot_tables_done", tables.length);
      this.confirmedLsn = this.lastPolledLsn = stored.lsn;
      this.reportPosition();
      this.phase = { kind: "snapshot-done", consistentPoint: stored.lsn };
      return;
    }
    if (stored?.snapshotDone) {
      context.warn(
        `slot ${this.slot} is gone: taking a new snapshot (consumers see every row again)`,
      );
    }
    // A snapshot that did not finish is taken again from a new slot: its records are
    // repeats, which keyed consumers absorb.
    if (slot !== undefined) await client.query("SELECT pg_drop_replication_slot($1)", [this.slot]);
    context.gauge("snapshot_tables_done", 0);
    context.gauge("snapshot_rows_estimated", await estimateRows(client, tables));
    const threads = context.encodesBatches ? this.config.snapshotEncodeThreads : 0;
    if (threads > 0) this.pool ??= new SnapshotEncoderPool(threads);
    // From here the snapshot owns the threads (its close() stops them).
    const pool = this.pool ?? undefined;
    this.pool = null;
    try {
      await this.openSnapshot(tables, pool);
    } catch (e) {
      await pool?.close();
      throw e;
    }
  }

  private async openSnapshot(tables: TableInfo[], pool: SnapshotEncoderPool | undefined) {
    const context = this.context;
    const created = await createSlotWithSnapshot(this.config.connection, this.slot);
    const snapshot = await TableSnapshot.open(this.config.connection, created, tables, {
      batchRecords: this.config.snapshotFetchRows,
      topicOf: (t) => this.topicOf(t),
      envelope: (t, now) => {
        const meta = { lsn: created.consistentPoint, txId: null, ts: now, snapshot: true };
        this.encoder.begin(meta, now);
        return this.encoder.envelope(t, "r", null);
      },
      warn: (m) => context.warn(m),
      ...(pool !== undefined ? { pool } : {}),
      ...(context.encodesBatches
        ? {
            partitionsOf: async (topic: string) =>
              (await context.log.admin.listOffsets(topic, "latest")).length,
          }
        : {}),
    });
    this.phase = { kind: "snapshot", snapshot, consistentPoint: created.consistentPoint };
  }

  private async createTopics(tables: TableInfo[]): Promise<void> {
    const admin = this.context.log.admin;
    const forever = { retentionMs: -1 };
    for (const t of tables) {
      await admin.createTopic(this.topicOf(t), {
        partitions: this.config.topicPartitions,
        config: forever,
        ifNotExists: true,
      });
    }
    await admin.createTopic(`${this.config.topicPrefix}.transactions`, {
      partitions: 1,
      config: forever,
      ifNotExists: true,
    });
    await admin.createTopic(`${this.config.topicPrefix}.heartbeat`, {
      partitions: 1,
      config: { cleanupPolicy: "compact" },
      ifNotExists: true,
    });
  }

  private topicOf(t: { schema: string; table: string }): string {
    return `${this.config.topicPrefix}.${t.schema}.${t.table}`;
  }

  async poll(): Promise<(SourceRecord | SourceBatch)[]> {
    if (this.failure !== null) throw this.failure;
    const phase = this.phase;
    if (phase.kind === "snapshot") {
      const batch = await phase.snapshot.next();
      const records = batch.records;
      this.context.count("snapshot_rows", batch.rows);
      this.context.gauge("snapshot_tables_done", phase.snapshot.tablesDone);
      if (batch.done) {
        await phase.snapshot.close();
        records.push(this.heartbeat(phase.consistentPoint));
        this.phase = { kind: "snapshot-done", consistentPoint: phase.consistentPoint };
      }
      return records;
    }
    if (phase.kind === "snapshot-done") {
      await this.startStreaming(phase.consistentPoint);
      this.phase = { kind: "streaming" };
    }
    if (this.buffer.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(1000, this.config.heartbeatIntervalMs));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = null;
      if (this.failure !== null) throw this.failure;
    }
    if (this.buffer.length === 0) return this.idleHeartbeat();
    const out = this.buffer.splice(0, this.config.maxBatchRecords);
    for (let i = out.length - 1; i >= 0; i--) {
      const o = out[i]!.sourceOffset;
      if (o !== undefined) {
        this.lastPolledLsn = (o.offset as SlotOffset).lsn;
        break;
      }
    }
    if (this.paused && this.buffer.length < this.config.maxBatchRecords) {
      this.paused = false;
      this.stream?.resume();
    }
    return out;
  }

  /**
   * With nothing received and unconfirmed, the server's position (from its last
   * keepalive) can be confirmed: no transaction of ours commits before it. It is sent as
   * a heartbeat record carrying the offset, so it is stored before Postgres is told.
   */
  private idleHeartbeat(): SourceRecord[] {
    const idle = this.tx === null && this.lastPolledLsn === this.confirmedLsn;
    const due = Date.now() - this.lastHeartbeat >= this.config.heartbeatIntervalMs;
    if (!idle || !due || parseLsn(this.serverLsn) <= parseLsn(this.confirmedLsn)) return [];
    this.lastPolledLsn = this.serverLsn;
    return [this.heartbeat(this.serverLsn)];
  }

  private heartbeat(lsn: string): SourceRecord {
    this.lastHeartbeat = Date.now();
    this.context.count("heartbeats");
    return {
      topic: `${this.config.topicPrefix}.heartbeat`,
      key: Buffer.from(this.slot),
      value: Buffer.from(JSON.stringify({ ts_ms: Date.now(), lsn })),
      sourceOffset: {
        partition: this.slot,
        offset: { snapshotDone: true, lsn } satisfies SlotOffset,
      },
    };
  }

  async commit(offsets: ReadonlyMap<string, unknown>): Promise<void> {
    const o = offsets.get(this.slot) as SlotOffset | undefined;
    if (o === undefined) return;
    this.confirmedLsn = o.lsn;
    this.stream?.confirm(o.lsn);
    this.reportPosition();
  }

  /** The confirmed position and how far the server is ahead of it, as gauges. */
  private reportPosition(): void {
    this.context.gauge("confirmed_lsn", Number(parseLsn(this.confirmedLsn)));
    this.context.gauge("replication_lag_bytes", this.lag());
  }

  lag(): number {
    return Math.max(0, Number(parseLsn(this.serverLsn) - parseLsn(this.confirmedLsn)));
  }

  private async startStreaming(fromLsn: string): Promise<void> {
    this.confirmedLsn = this.lastPolledLsn = this.serverLsn = fromLsn;
    this.stream = new ReplicationStream(this.config.connection, this.publication, {
      onRowMessage: (payload) => {
        const tx = this.tx;
        if (tx !== null) this.changes.decode(payload, (c) => tx.changes.push(c));
      },
      onMessage: (m) => this.onMessage(m),
      onKeepalive: (lsn, replyRequested) => {
        if (parseLsn(lsn) > parseLsn(this.serverLsn)) {
          this.serverLsn = lsn;
          this.context.gauge("replication_lag_bytes", this.lag());
        }
        if (replyRequested) this.stream?.confirm(this.confirmedLsn);
      },
      onError: (err) => {
        this.failure = err;
        this.wake?.();
      },
    });
    await this.stream.start(this.slot, fromLsn);
    // Ask for a keepalive now and then: its position is what an idle source confirms.
    this.pingTimer = setInterval(
      () => this.stream?.confirm(this.confirmedLsn, true),
      Math.max(50, Math.floor(this.config.heartbeatIntervalMs / 2)),
    );
  }

  private onMessage(m: Pgoutput.Message): void {
    switch (m.tag) {
      case "begin":
        this.tx = { xid: m.xid, changes: [] };
        return;
      case "relation":
        this.changes.relation(m);
        return;
      case "truncate":
        this.context.count("truncates_ignored");
        this.context.warn(
          `TRUNCATE of ${m.relations.map((r) => `${r.schema}.${r.name}`).join(", ")} is not captured: consumers keep the rows`,
        );
        return;
      case "commit":
        this.onCommit(m.commitEndLsn!, Number((m.commitTime as bigint) / 1000n));
        return;
      default:
        return;
    }
  }

  /** The selected table a relation message names, if any. */
  private tableOf(relation: Pgoutput.MessageRelation): TableInfo | undefined {
    return this.tables.get(`${relation.schema}.${relation.name}`);
  }

  /**
   * A transaction's records become visible to poll() together, followed by its END event
   * on `<prefix>.transactions`, which carries the offset: the slot is confirmed past a
   * transaction only once all of it is in the log. A delete is followed by a tombstone.
   */
  private onCommit(commitEndLsn: string, commitMs: number): void {
    const tx = this.tx;
    this.tx = null;
    if (tx === null) return;
    const perTable = new Map<TableInfo, number>();
    // One Buffer for all the transaction's records: the log copies it, no encoding per record.
    const headers = { "tx.id": Buffer.from(String(tx.xid)) };
    this.encoder.begin({ lsn: commitEndLsn, txId: tx.xid, ts: commitMs, snapshot: false });
    for (const c of tx.changes) {
      const r = this.encoder.record(c);
      r.headers = headers;
      this.buffer.push(r);
      if (c.op === "d") {
        this.buffer.push({ topic: r.topic, key: r.key, value: null, timestamp: commitMs, headers });
      }
      perTable.set(c.table, (perTable.get(c.table) ?? 0) + 1);
    }
    this.buffer.push({
      topic: `${this.config.topicPrefix}.transactions`,
      key: Buffer.from(String(tx.xid)),
      value: Buffer.from(
        JSON.stringify({
          status: "END",
          id: String(tx.xid),
          event_count: tx.changes.length,
          data_collections: [...perTable].map(([table, event_count]) => ({
            data_collection: `${table.schema}.${table.table}`,
            event_count,
          })),
          lsn: commitEndLsn,
          ts_ms: commitMs,
        }),
      ),
      timestamp: commitMs,
      sourceOffset: {
        partition: this.slot,
        offset: { snapshotDone: true, lsn: commitEndLsn } satisfies SlotOffset,
      },
    });
    this.context.count("changes", tx.changes.length);
    if (!this.paused && this.buffer.length >= 4 * this.config.maxBatchRecords) {
      this.paused = true;
      this.stream?.pause();
    }
    this.wake?.();
  }

  async stop(): Promise<void> {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    await this.pool?.close();
    this.pool = null;
    if (this.phase?.kind === "snapshot") await this.phase.snapshot.close().catch(() => {});
    await this.stream?.stop();
    await this.client?.end().catch(() => {});
    this.client = null;
  }
}

/**
 * The rows the tables hold by Postgres' statistics (what the planner uses), for the
 * snapshot's progress: pg_class.reltuples, -1 (counted as 0) for a table never analysed.
 */
async function estimateRows(client: pg.Client, tables: TableInfo[]): Promise<number> {
  const res = await client.query<{ n: number }>(
    "SELECT coalesce(sum(greatest(reltuples, 0)), 0)::float8 AS n FROM pg_class WHERE oid = ANY($1::regclass[])",
    [tables.map(qualified)],
  );
  return Math.round(res.rows[0]?.n ?? 0);
}
