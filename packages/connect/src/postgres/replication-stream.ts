import type pg from "pg";
import { type Pgoutput, PgoutputPlugin } from "pg-logical-replication";
import { ConnectError } from "../errors.js";
import { PgoutputChanges } from "./pgoutput-changes.js";
import { connectPostgres } from "./postgres-catalog.js";
import { formatLsn, parseLsn } from "./lsn.js";

/** Internals of pg's Client that a replication stream needs (not in its typings). */
interface PgConnection {
  on(event: "copyData", listener: (msg: { chunk: Buffer }) => void): void;
  once(event: "replicationStart", listener: () => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  stream: { pause(): void; resume(): void };
}

// Microseconds between the Unix epoch and Postgres' (2000-01-01).
const PG_EPOCH_US = 946_684_800_000_000n;

/**
 * A logical replication stream with pgoutput on its own connection, decoded by
 * pg-logical-replication's parser, except row messages, which go undecoded to
 * `onRowMessage` (pgoutput-changes.ts). Messages arrive strictly in stream order,
 * keepalives included (`onKeepalive` with the server's position), so "nothing is pending
 * before this keepalive" is a fact, not a race. `pause()`/`resume()` stop reading the
 * socket (backpressure reaches Postgres through TCP). `confirm(lsn)` sends a standby
 * status update saying everything before `lsn` is flushed: Postgres may then recycle the
 * WAL and will not send those transactions again.
 *
 * Standby status update ('r'): written:int64 flushed:int64 applied:int64 clock:int64
 * replyRequested:uint8 — positions are the LSN itself (not +1), clock is µs since 2000.
 */
export class ReplicationStream {
  private client: pg.Client | null = null;
  private connection: PgConnection | null = null;
  private failure: Error | null = null;
  private readonly plugin: PgoutputPlugin;
  private ended: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly url: string,
    publication: string,
    private readonly handlers: {
      /** A row message (Insert, Update, Delete) as sent, for pgoutput-changes.ts. */
      onRowMessage(payload: Buffer): void;
      onMessage(message: Pgoutput.Message): void;
      onKeepalive(serverLsn: string, replyRequested: boolean): void;
      onError(err: Error): void;
    },
  ) {
    this.plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] });
  }

  async start(slot: string, fromLsn: string): Promise<void> {
    const client = await connectPostgres(this.url, true);
    this.client = client;
    const connection = (client as unknown as { connection: PgConnection }).connection;
    this.connection = connection;
    const started = new Promise<void>((resolve) => connection.once("replicationStart", resolve));
    connection.on("copyData", ({ chunk }) => {
      if (this.failure !== null) return;
      try {
        if (chunk[0] === 0x77) {
          // XLogData: 'w' dataStart:int64 walEnd:int64 sendTime:int64 payload (the
          // positions that matter, commit LSNs, are in the payload's commit message)
          const payload = chunk.subarray(25);
          if (PgoutputChanges.isRowMessage(payload)) this.handlers.onRowMessage(payload);
          else this.handlers.onMessage(this.plugin.parse(payload));
        } else if (chunk[0] === 0x6b) {
          // Primary keepalive: 'k' walEnd:int64 sendTime:int64 replyRequested:uint8
          this.handlers.onKeepalive(formatLsn(chunk.readBigUInt64BE(1)), chunk[17] === 1);
        }
      } catch (err) {
        this.fail(err as Error);
      }
    });
    const streaming = this.plugin.start(client, slot, fromLsn);
    this.ended = streaming.then(
      () =>
        this.fail(
          new ConnectError("POSTGRES", "the replication stream ended", { retriable: true }),
        ),
      (err: Error) =>
        this.fail(
          new ConnectError("POSTGRES", `replication stream: ${err.message}`, {
            cause: err,
            retriable: true,
          }),
        ),
    );
    client.on("end", () =>
      this.fail(
        new ConnectError("POSTGRES", "the replication connection closed", { retriable: true }),
      ),
    );
    await Promise.race([started, this.ended.then(() => Promise.reject(this.failure))]);
  }

  confirm(lsn: string, replyRequested = false): void {
    if (this.connection === null || this.failure !== null) return;
    const pos = parseLsn(lsn);
    const msg = Buffer.alloc(34);
    msg[0] = 0x72; // 'r'
    msg.writeBigUInt64BE(pos, 1);
    msg.writeBigUInt64BE(pos, 9);
    msg.writeBigUInt64BE(pos, 17);
    msg.writeBigUInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_US, 25);
    msg[33] = replyRequested ? 1 : 0;
    this.connection.sendCopyFromChunk(msg);
  }

  pause(): void {
    this.connection?.stream.pause();
  }

  resume(): void {
    this.connection?.stream.resume();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.connection = null;
    this.failure ??= new ConnectError("CLOSED", "stopped");
    await client?.end().catch(() => {});
    await this.ended.catch(() => {});
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.handlers.onError(err);
  }
}
