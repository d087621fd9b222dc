import type { Duplex } from "node:stream";
import { ConnectError } from "../errors.js";

/** Where a CopyData message's payload lies: `src[start, end)`; `dv` views all of `src`. */
export type CopyDataHandler = (src: Buffer, dv: DataView, start: number, end: number) => void;

/** The part of node-postgres' Connection this reader uses (its socket). */
interface PgConnection {
  stream: Duplex;
  query(text: string): void;
}

// Backend message codes (PostgreSQL protocol, "Message Formats").
const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const COPY_OUT_RESPONSE = 0x48; // 'H'
const PARAMETER_STATUS = 0x53; // 'S'
const NOTICE_RESPONSE = 0x4e; // 'N'
const NOTIFICATION_RESPONSE = 0x41; // 'A'
/** A message's code and length: code:byte length:int32 (counting itself, not the code). */
const MESSAGE_HEADER = 5;
/** Postgres sends no message larger than its 1 GB allocation limit. */
const MAX_MESSAGE = 1024 * 1024 * 1024;

/**
 * Runs `COPY … TO STDOUT` on a node-postgres client and hands over its CopyData payloads
 * where they lie in the socket's chunks. pg-copy-streams (used before) took each CopyData
 * message, one per row, out of its buffer list as a Buffer of its own and concatenated a
 * chunk's rows again before pushing them: a Buffer per row and a second copy, ~20% of the
 * snapshot's CPU. Here only a message cut by a chunk's end is copied (joined with the next
 * chunks once they complete it).
 *
 * It is a node-postgres "submittable" (as pg-copy-streams is): on submit it takes the
 * socket over from the client's protocol parser, reads it only when `read()` asks (so
 * Postgres waits on TCP backpressure while the caller is busy), and gives the socket back
 * at CopyDone, or at an ErrorResponse or any message it does not expect, from that
 * message on: the client then parses CommandComplete/ReadyForQuery, or reports the error
 * through `handleError`.
 *
 *   CopyOut => CopyOutResponse ('H') [CopyData ('d') | ParameterStatus | Notice | Notification]
 *              CopyDone ('c') CommandComplete ReadyForQuery
 */
export class CopyOutReader {
  private connection: PgConnection | null = null;
  private pgDataHandler: ((chunk: Buffer) => void) | null = null;
  private readonly onReadable = () => this.wakeUp();
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  private copyDone = false;
  /** Chunks of a message cut by a chunk's end, and how many bytes complete it (0: unknown). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private needed = 0;

  constructor(readonly text: string) {}

  /** node-postgres: the client is ready for this query. */
  submit(connection: PgConnection): void {
    this.connection = connection;
    const stream = connection.stream;
    const listeners = stream.listeners("data") as ((chunk: Buffer) => void)[];
    if (listeners.length !== 1) {
      throw new ConnectError("POSTGRES", "COPY: the client's socket has no single data listener");
    }
    this.pgDataHandler = listeners[0]!;
    stream.removeListener("data", this.pgDataHandler);
    stream.pause();
    stream.on("readable", this.onReadable);
    connection.query(this.text);
    this.wakeUp();
  }

  /**
   * Reads what the socket holds (waiting for it if nothing) and hands each CopyData
   * payload in it to `onData`; false once the COPY has ended (CopyDone was handed over).
   * Throws what Postgres or the connection reported.
   */
  async read(onData: CopyDataHandler): Promise<boolean> {
    for (;;) {
      if (this.failure !== null) throw this.failure;
      if (this.copyDone) return false;
      const chunk = this.connection?.stream.read() as Buffer | null | undefined;
      if (chunk != null) {
        this.parse(chunk, onData);
        return true;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /**
   * Stops reading: what is left of the COPY goes to the client (which ignores CopyData,
   * see handleCopyData), so the connection can be ended or, after ReadyForQuery, reused.
   */
  cancel(): void {
    // The client's parser must get the message we hold a part of, from its start.
    if (this.pgDataHandler !== null) this.detach(Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
    this.copyDone = true;
  }

  private parse(chunk: Buffer, onData: CopyDataHandler): void {
    let src = chunk;
    if (this.pending.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.needed === 0 && this.pendingBytes >= MESSAGE_HEADER) {
        this.needed = messageEnd(Buffer.concat(this.pending, MESSAGE_HEADER), 0);
      }
      // A big message arrives in many chunks: join them once, when it is complete.
      if (this.needed === 0 || this.pendingBytes < this.needed) return;
      src = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.needed = 0;
    }
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const end = src.length;
    let pos = 0;
    while (pos + MESSAGE_HEADER <= end) {
      const code = src[pos]!;
      const next = messageEnd(src, pos);
      if (code === COPY_DATA) {
        if (next > end) break;
        onData(src, dv, pos + MESSAGE_HEADER, next);
      } else if (code === COPY_DONE) {
        this.copyDone = true;
        this.detach(src.subarray(next));
        return;
      } else if (
        code !== COPY_OUT_RESPONSE &&
        code !== PARAMETER_STATUS &&
        code !== NOTICE_RESPONSE &&
        code !== NOTIFICATION_RESPONSE
      ) {
        // An ErrorResponse, or the COPY did not start: the client parses it from here.
        this.copyDone = true;
        this.detach(src.subarray(pos));
        return;
      } else if (next > end) break;
      pos = next;
    }
    if (pos < end) {
      const rest = src.subarray(pos);
      this.pending = [rest];
      this.pendingBytes = rest.length;
      this.needed = rest.length >= MESSAGE_HEADER ? messageEnd(rest, 0) : 0;
    }
  }

  private detach(unread: Buffer): void {
    const connection = this.connection!;
    const handler = this.pgDataHandler!;
    this.pgDataHandler = null;
    const stream = connection.stream;
    stream.removeListener("readable", this.onReadable);
    stream.on("data", handler);
    if (unread.length > 0) handler(unread);
    // As pg-copy-streams does: the handler may have paused the stream; resume after it.
    process.nextTick(() => stream.resume());
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** node-postgres: Postgres reported an error, or the connection failed. */
  handleError(err: Error): void {
    this.failure = err;
    this.wakeUp();
  }

  /** node-postgres: CopyData after `cancel()`: dropped, the caller no longer reads. */
  handleCopyData(): void {}

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {}
}

/** Where the message at `pos` ends, from its length field (checked before any allocation). */
function messageEnd(src: Buffer, pos: number): number {
  const length = src.readInt32BE(pos + 1);
  if (length < 4 || length > MAX_MESSAGE) {
    throw new ConnectError(
      "POSTGRES",
      `COPY: a protocol message of length ${length} (code ${src[pos]}); the connection is out of step`,
    );
  }
  return pos + 1 + length;
}
