import { Worker } from "node:worker_threads";
import type { SourceBatch } from "../connector.js";
import { ConnectError } from "../errors.js";
import type { ChunkMessage, ChunkReply, TableMessage } from "./snapshot-encode-thread.js";

/** A chunk's rows as batches, or why they could not be encoded. */
export type ChunkResult =
  | { ok: true; rows: number; complete: boolean; batches: SourceBatch[] }
  /** `row`: the chunk's row (1-based) that failed, 0 if none (the thread itself failed). */
  | { ok: false; row: number; message: string };

interface Waiting {
  topic: string;
  resolve(result: ChunkResult): void;
}

interface Thread {
  worker: Worker;
  /** Chunks posted and not answered, in posting order (a thread answers in that order). */
  waiting: Waiting[];
}

/**
 * Threads that encode a snapshot's COPY chunks into record batches (snapshot-encode-
 * thread.ts), so that reading the socket and appending to the log (this thread) overlap
 * the row encoders (~60% of a snapshot row's CPU) on another core. Chunks go round-robin;
 * the caller awaits the results in posting order, so per partition the batches come in
 * COPY order. The threads are unref'd (a pool left open never keeps the process alive)
 * and terminated by `close()`; a thread that dies answers its chunks with an error.
 */
export class SnapshotEncoderPool {
  private readonly threads: Thread[] = [];
  private turn = 0;
  private closed = false;
  private topic = "";
  private alive = 0;

  constructor(threads: number) {
    for (let i = 0; i < threads; i++) this.threads.push(this.startThread());
  }

  get size(): number {
    return this.threads.length;
  }

  /** Threads not exited yet. */
  get running(): number {
    return this.alive;
  }

  /** The table whose chunks follow (every thread gets it). */
  table(message: Omit<TableMessage, "type">): void {
    this.topic = message.topic;
    for (const t of this.threads) t.worker.postMessage({ type: "table", ...message });
  }

  /**
   * Encodes `chunk[0, length)` (whole rows of the current table; the chunk's memory is
   * transferred, so the caller must not touch it again). Never rejects: a failure is a
   * result, so that results awaited later cannot become unhandled rejections.
   */
  encode(
    chunk: Buffer,
    message: Omit<ChunkMessage, "type" | "chunk" | "length">,
  ): Promise<ChunkResult> {
    if (this.closed)
      return Promise.resolve({ ok: false, row: 0, message: "the encoding threads were stopped" });
    const thread = this.threads[this.turn]!;
    this.turn = (this.turn + 1) % this.threads.length;
    // A chunk has an ArrayBuffer of its own (see `chunkBuffer`), so it can be moved.
    const m: ChunkMessage = {
      type: "chunk",
      chunk: chunk.buffer as ArrayBuffer,
      length: chunk.length,
      ...message,
    };
    return new Promise<ChunkResult>((resolve) => {
      thread.waiting.push({ topic: this.topic, resolve });
      thread.worker.postMessage(m, [m.chunk]);
    });
  }

  /** Stops the threads; chunks not answered yet are answered with an error. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
    for (const t of this.threads) this.fail(t, "the encoding threads were stopped");
  }

  private startThread(): Thread {
    const worker = new Worker(threadUrl());
    const thread: Thread = { worker, waiting: [] };
    worker.unref();
    worker.on("message", (reply: ChunkReply) => {
      const w = thread.waiting.shift();
      if (w === undefined) return;
      if (!reply.ok) {
        w.resolve(reply);
        return;
      }
      const batches = reply.batches.map((b) => ({
        topic: w.topic,
        partition: b.partition,
        batch: Buffer.from(b.buffer, b.offset, b.length),
        records: b.records,
      }));
      w.resolve({ ok: true, rows: reply.rows, complete: reply.complete, batches });
    });
    worker.on("error", (e) => this.fail(thread, `an encoding thread failed: ${e.message}`));
    this.alive++;
    worker.on("exit", (code) => {
      this.alive--;
      if (!this.closed) this.fail(thread, `an encoding thread exited (code ${code})`);
    });
    return thread;
  }

  private fail(thread: Thread, message: string): void {
    for (const w of thread.waiting.splice(0)) w.resolve({ ok: false, row: 0, message });
  }
}

/** A buffer for a chunk of `bytes`, with an ArrayBuffer of its own (so it can be transferred). */
export function chunkBuffer(bytes: number): Buffer {
  // Never from Node's shared pool, and not zeroed: the chunk is written over before use.
  return Buffer.allocUnsafeSlow(bytes);
}

/**
 * The thread's module beside this one; run from the TypeScript sources (a test importing
 * src/), the built one in dist/, since a worker thread does not load .ts files.
 */
function threadUrl(): URL {
  const url = new URL("./snapshot-encode-thread.js", import.meta.url);
  if (!import.meta.url.endsWith(".ts")) return url;
  return new URL(url.href.replace("/src/postgres/", "/dist/postgres/"));
}

/** The ConnectError of a chunk that failed: the table and the row, counted in COPY order. */
export function chunkError(
  name: string,
  rowsBefore: number,
  result: { row: number; message: string },
): ConnectError {
  const where =
    result.row > 0 ? `row ${rowsBefore + result.row}` : `the rows from ${rowsBefore + 1} on`;
  return new ConnectError("POSTGRES", `${name}: ${where}: ${result.message}`);
}
