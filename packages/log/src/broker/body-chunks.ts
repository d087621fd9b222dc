/**
 * MessagePack encoding of a frame body as a list of chunks, for the two bodies that carry
 * record batches: Produce requests and Fetch responses. The bytes are plain msgpack, the
 * same values msgpackr decodes from `packBody` (protocol.ts), so the peer cannot tell them
 * apart; the difference is that a binary of BIG_BINARY bytes or more is not copied into the
 * output but referenced as its own chunk, so a fetch response of 12 MiB of stored batches
 * goes from the segment read to the socket's writev without another copy.
 *
 * Supported values: null, undefined (fixext1 type 0, as msgpackr writes it), booleans,
 * numbers (32-bit integers as msgpack ints, anything else as float64), strings, Buffers and
 * Uint8Arrays (bin), arrays, and plain objects (maps with string keys). Anything else
 * throws UnsupportedValue, and the caller falls back to `packBody`.
 *
 * The chunks share memory with the value's binaries: the caller must not modify them until
 * the socket has written them.
 */
import { ApiKey, packBody } from "./protocol.js";

const BIG_BINARY = 1024;
const INITIAL_SCRATCH = 512;

export class UnsupportedValue extends Error {}

class ChunkWriter {
  readonly chunks: Buffer[] = [];
  length = 0;
  private scratch = Buffer.allocUnsafe(INITIAL_SCRATCH);
  private view = new DataView(this.scratch.buffer, this.scratch.byteOffset, this.scratch.length);
  private pos = 0;
  /** Scratch bytes before this are already in `chunks` and must not move or change. */
  private sealed = 0;

  finish(): Buffer[] {
    this.seal();
    return this.chunks;
  }

  private seal(): void {
    if (this.pos > this.sealed) {
      this.chunks.push(this.scratch.subarray(this.sealed, this.pos));
      this.length += this.pos - this.sealed;
      this.sealed = this.pos;
    }
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    const open = this.pos - this.sealed;
    const next = Buffer.allocUnsafe(Math.max(INITIAL_SCRATCH, (open + n) * 2));
    this.scratch.copy(next, 0, this.sealed, this.pos);
    this.scratch = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.length);
    this.pos = open;
    this.sealed = 0;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.scratch[this.pos++] = b;
  }

  private head(small: number, smallMax: number, c8: number, c16: number, c32: number, n: number) {
    this.ensure(5);
    if (n <= smallMax) this.scratch[this.pos++] = small | n;
    else if (c8 !== 0 && n < 0x100) {
      this.scratch[this.pos++] = c8;
      this.scratch[this.pos++] = n;
    } else if (n < 0x10000) {
      this.scratch[this.pos++] = c16;
      this.view.setUint16(this.pos, n);
      this.pos += 2;
    } else {
      this.scratch[this.pos++] = c32;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
  }

  value(v: unknown): void {
    switch (typeof v) {
      case "string":
        this.string(v);
        return;
      case "number":
        this.number(v);
        return;
      case "boolean":
        this.byte(v ? 0xc3 : 0xc2);
        return;
      case "undefined":
        this.ensure(3);
        this.scratch[this.pos++] = 0xd4;
        this.scratch[this.pos++] = 0;
        this.scratch[this.pos++] = 0;
        return;
      case "object":
        if (v === null) {
          this.byte(0xc0);
          return;
        }
        if (v instanceof Uint8Array) {
          this.binary(v);
          return;
        }
        if (Array.isArray(v)) {
          this.head(0x90, 15, 0, 0xdc, 0xdd, v.length);
          for (let i = 0; i < v.length; i++) this.value(v[i]);
          return;
        }
        if (Object.getPrototypeOf(v) === Object.prototype) {
          const keys = Object.keys(v);
          this.head(0x80, 15, 0, 0xde, 0xdf, keys.length);
          for (const k of keys) {
            this.string(k);
            this.value((v as Record<string, unknown>)[k]);
          }
          return;
        }
    }
    throw new UnsupportedValue();
  }

  private number(v: number): void {
    this.ensure(9);
    if (v >>> 0 === v) {
      if (v < 0x80) this.scratch[this.pos++] = v;
      else if (v < 0x100) {
        this.scratch[this.pos++] = 0xcc;
        this.scratch[this.pos++] = v;
      } else if (v < 0x10000) {
        this.scratch[this.pos++] = 0xcd;
        this.view.setUint16(this.pos, v);
        this.pos += 2;
      } else {
        this.scratch[this.pos++] = 0xce;
        this.view.setUint32(this.pos, v);
        this.pos += 4;
      }
    } else if (v >> 0 === v) {
      if (v >= -0x20) this.scratch[this.pos++] = 0x100 + v;
      else {
        this.scratch[this.pos++] = 0xd2;
        this.view.setInt32(this.pos, v);
        this.pos += 4;
      }
    } else {
      // Offsets past 2^32 land here too: a float64 holds every safe integer exactly.
      this.scratch[this.pos++] = 0xcb;
      this.view.setFloat64(this.pos, v);
      this.pos += 8;
    }
  }

  private string(s: string): void {
    const max = s.length * 3;
    this.ensure(5 + max);
    // Write the bytes after the longest header, then move them if a shorter one fits.
    const written = this.scratch.write(s, this.pos + 5, "utf8");
    const start = this.pos;
    this.head(0xa0, 31, 0xd9, 0xda, 0xdb, written);
    if (this.pos !== start + 5)
      this.scratch.copy(this.scratch, this.pos, start + 5, start + 5 + written);
    this.pos += written;
  }

  private binary(b: Uint8Array): void {
    this.head(0, -1, 0xc4, 0xc5, 0xc6, b.length);
    if (b.length < BIG_BINARY) {
      this.ensure(b.length);
      this.scratch.set(b, this.pos);
      this.pos += b.length;
      return;
    }
    this.seal();
    const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    this.chunks.push(buf);
    this.length += buf.length;
  }
}

/** The msgpack encoding of `value` as chunks to write back to back; see the file comment. */
export function packBodyChunks(value: unknown): { chunks: Buffer[]; length: number } {
  const w = new ChunkWriter();
  w.value(value);
  const chunks = w.finish();
  return { chunks, length: w.length };
}

/**
 * A frame body for `apiKey`: chunked for Produce requests and Fetch answers (the bodies
 * with batches in them), one `packBody` buffer for everything else.
 */
export function encodeBody(apiKey: number, value: unknown): { chunks: Buffer[]; length: number } {
  if (apiKey === ApiKey.Produce || apiKey === ApiKey.Fetch) {
    try {
      return packBodyChunks(value);
    } catch (err) {
      if (!(err instanceof UnsupportedValue)) throw err;
    }
  }
  const bytes = packBody(value);
  return { chunks: [bytes], length: bytes.length };
}
