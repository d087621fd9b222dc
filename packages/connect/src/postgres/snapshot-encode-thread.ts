import { parentPort } from "node:worker_threads";
import type { SourceBatch } from "../connector.js";
import { BinaryCopyRows } from "./binary-copy-rows.js";
import type { TableInfo } from "./postgres-catalog.js";
import { BATCH_BYTES, SnapshotBatchWriter } from "./snapshot-batch-writer.js";
import { type SnapshotColumnTypes, SnapshotRowEncoder } from "./snapshot-row-encoder.js";

/**
 * The body of a snapshot encoding thread (snapshot-encoder-pool.ts starts it): COPY bytes
 * in, record batches out. Each chunk holds whole rows (the main thread cuts the COPY
 * between CopyData messages, one row each), so a chunk is encoded on its own, into
 * batches of its own; their buffers go back transferred, not copied.
 */

/** The table whose chunks follow. */
export interface TableMessage {
  type: "table";
  table: TableInfo;
  topic: string;
  types: SnapshotColumnTypes;
  partitions: number;
  /** "snapshot of schema.table", for errors. */
  name: string;
  /** The main thread's chunk size: sizes the batches' first buffers. */
  chunkBytes: number;
}

/** Rows of the current table: `chunk[0, length)`; the envelope around each row's `after`. */
export interface ChunkMessage {
  type: "chunk";
  chunk: ArrayBuffer;
  length: number;
  /** The COPY's first chunk (it starts with the COPY header) and last (it ends it). */
  first: boolean;
  last: boolean;
  head: Uint8Array;
  tail: Uint8Array;
  now: number;
}

export type ChunkReply =
  | {
      ok: true;
      rows: number;
      /** The last chunk: whether the COPY's trailer was in it. */
      complete: boolean;
      batches: {
        partition: number;
        buffer: ArrayBuffer;
        offset: number;
        length: number;
        records: number;
      }[];
    }
  /** `row`: the chunk's row (1-based) being encoded when it failed; 0 if none. */
  | { ok: false; row: number; message: string };

let table: TableMessage | undefined;
let encoder: SnapshotRowEncoder | undefined;
let writer: SnapshotBatchWriter | undefined;

function encodeChunk(m: ChunkMessage): ChunkReply {
  if (table === undefined || encoder === undefined || writer === undefined) {
    return { ok: false, row: 0, message: "a chunk came before its table" };
  }
  const before = writer.rowsWritten;
  try {
    const rows = new BinaryCopyRows(encoder.fieldCount, table.name, !m.first);
    encoder.setEnvelope(asBuffer(m.head), asBuffer(m.tail));
    const src = Buffer.from(m.chunk, 0, m.length);
    const dv = new DataView(m.chunk, 0, m.length);
    const batches: SourceBatch[] = [];
    const n = writer.write(rows, src, dv, 0, m.length, m.now, batches);
    writer.finish(batches);
    if (rows.partial) {
      return { ok: false, row: n + 1, message: "a row of the COPY spans two CopyData messages" };
    }
    return {
      ok: true,
      rows: n,
      complete: rows.complete,
      batches: batches.map((b) => ({
        partition: b.partition,
        buffer: b.batch.buffer as ArrayBuffer,
        offset: b.batch.byteOffset,
        length: b.batch.length,
        records: b.records,
      })),
    };
  } catch (e) {
    writer.finish([]);
    // The main thread names the table (and the row in it) itself.
    const message = (e as Error).message;
    const own = `${table.name}: `;
    const problem = message.startsWith(own) ? message.slice(own.length) : message;
    return { ok: false, row: writer.rowsWritten - before + 1, message: problem };
  }
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.length);
}

parentPort?.on("message", (m: TableMessage | ChunkMessage) => {
  if (m.type === "table") {
    table = m;
    encoder = SnapshotRowEncoder.of(m.table, m.topic, m.types);
    // A chunk's rows spread over the partitions; their JSON is several times their COPY bytes.
    const guess = Math.ceil((8 * m.chunkBytes) / m.partitions);
    writer = new SnapshotBatchWriter(
      encoder,
      m.partitions,
      Math.min(BATCH_BYTES, Math.max(1 << 16, guess)),
    );
    return;
  }
  const reply = encodeChunk(m);
  const transfer = reply.ok ? [...new Set(reply.batches.map((b) => b.buffer))] : [];
  parentPort!.postMessage(reply, transfer);
});
