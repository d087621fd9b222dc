import { ConnectError } from "../errors.js";

/**
 * Splits the output of `COPY … TO STDOUT (FORMAT binary)` into rows, incrementally: the
 * stream comes in chunks that cut rows anywhere, and the part of a row at a chunk's end
 * waits for the next chunk. Values are not copied: each row is handed over as offsets
 * into the chunk it lies in. Postgres' format (all integers big-endian):
 *
 *   CopyBinary => signature:"PGCOPY\n\377\r\n\0" flags:int32 extensionLength:int32
 *                 extension:bytes [Tuple] trailer:int16(-1)
 *   Tuple      => fieldCount:int16 [length:int32(-1 = NULL) value:bytes]
 */
export class BinaryCopyRows {
  /** The row being handed over: where each field's value starts, and its length (-1: NULL). */
  readonly starts: Int32Array;
  readonly lengths: Int32Array;
  private rest: Buffer | null = null;
  private headerRead = false;
  private ended = false;

  /**
   * `afterHeader`: the bytes pushed start past the COPY's header (a later chunk of a COPY
   * split at row boundaries, as an encoding thread gets it).
   */
  constructor(
    private readonly fields: number,
    private readonly what: string,
    afterHeader = false,
  ) {
    this.headerRead = afterHeader;
    this.starts = new Int32Array(fields);
    this.lengths = new Int32Array(fields);
  }

  /** Whether a row cut by the last push's end waits for the next push. */
  get partial(): boolean {
    return this.rest !== null;
  }

  /** Whether the trailer was seen (the COPY output is complete). */
  get complete(): boolean {
    return this.ended;
  }

  /**
   * Calls `onRow` for each row that `src[start, end)` completes, with `starts`/`lengths`
   * set (offsets into the `src` handed to `onRow`); `dv` views all of `src`. The bytes are
   * read in place: only a row cut at `end` is kept (copied) until the next push.
   */
  push(
    chunk: Buffer,
    chunkView: DataView,
    start: number,
    chunkEnd: number,
    onRow: (src: Buffer, dv: DataView) => void,
  ): void {
    let src = chunk;
    let dv = chunkView;
    let pos = start;
    let end = chunkEnd;
    if (this.rest !== null) {
      src = Buffer.concat([this.rest, chunk.subarray(start, chunkEnd)]);
      dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
      pos = 0;
      end = src.length;
      this.rest = null;
    }
    if (!this.headerRead) {
      if (end - pos < 19) {
        this.rest = Buffer.from(src.subarray(pos, end));
        return;
      }
      if (src.toString("latin1", pos, pos + 11) !== "PGCOPY\n\xff\r\n\0") {
        this.fail("no PGCOPY signature");
      }
      const extension = dv.getInt32(pos + 15);
      if (end - pos < 19 + extension) {
        this.rest = Buffer.from(src.subarray(pos, end));
        return;
      }
      pos += 19 + extension;
      this.headerRead = true;
    }
    const { starts, lengths, fields } = this;
    while (pos + 2 <= end && !this.ended) {
      const count = dv.getInt16(pos);
      if (count === -1) {
        this.ended = true;
        pos += 2;
        break;
      }
      if (count !== fields) this.fail(`a row of ${count} fields, expected ${fields}`);
      let p = pos + 2;
      let whole = true;
      for (let i = 0; i < fields; i++) {
        if (p + 4 > end) {
          whole = false;
          break;
        }
        const len = dv.getInt32(p);
        starts[i] = p + 4;
        lengths[i] = len;
        p += 4 + Math.max(len, 0);
      }
      if (!whole || p > end) break;
      onRow(src, dv);
      pos = p;
    }
    if (pos < end) {
      if (this.ended) this.fail("data after the trailer");
      // A copy: the caller's chunk (a socket read) is not kept past this call.
      this.rest = Buffer.from(src.subarray(pos, end));
    }
  }

  private fail(problem: string): never {
    throw new ConnectError("POSTGRES", `${this.what}: unexpected COPY output: ${problem}`);
  }
}
