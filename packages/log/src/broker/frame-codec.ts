import { ProtocolError } from "../errors.js";

/**
 * The broker's wire framing. Every request and response is one frame:
 *
 *   Frame  => length:uint32 correlationId:uint32 apiKey:uint8 body:bytes
 *   length => bytes after the length field (so 5 + body length); big-endian like every
 *             integer here
 *
 * A peer never allocates for a frame before checking `length` against its maximum: a
 * length prefix of 4 GiB from a broken or hostile client costs four bytes of reading and
 * an error frame, not 4 GiB of memory.
 */
export const FRAME_LENGTH_BYTES = 4;
/** correlationId + apiKey: the part of `length` that is not body. */
export const FRAME_HEADER_BYTES = 5;
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

export interface Frame {
  correlationId: number;
  apiKey: number;
  /** May share memory with the socket chunk it arrived in. */
  body: Buffer;
}

/** The 9 bytes before a body; written with the body in one corked write. */
export function encodeFrameHeader(
  correlationId: number,
  apiKey: number,
  bodyLength: number,
): Buffer {
  const header = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + FRAME_HEADER_BYTES);
  header.writeUInt32BE(FRAME_HEADER_BYTES + bodyLength, 0);
  header.writeUInt32BE(correlationId >>> 0, 4);
  header.writeUInt8(apiKey, 8);
  return header;
}

/** Checks a frame we are about to send against the limit the peer will apply. */
export function checkOutgoingFrame(bodyLength: number, maxFrameBytes: number): void {
  if (FRAME_HEADER_BYTES + bodyLength > maxFrameBytes) {
    throw new ProtocolError(
      "FRAME_TOO_LARGE",
      `frame of ${FRAME_HEADER_BYTES + bodyLength} bytes exceeds the maximum of ${maxFrameBytes}: send smaller batches or raise --max-frame-bytes on both ends`,
    );
  }
}

/**
 * Cuts a byte stream into frames. Chunks are kept as a list and only joined once a whole
 * frame is there (and not at all when a frame lies inside one chunk), so a large frame
 * arriving in many small chunks costs one copy, not one per chunk.
 *
 * Not reentrant: one decoder per connection.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the frame being accumulated, once its prefix has been read; -1 before. */
  private pending = -1;

  constructor(private maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {}

  /** Changes the limit for the frames still to come (a connection raises it after its
   * handshake). */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held for an incomplete frame (a cut frame at close shows up here). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Feeds bytes; calls `onFrame` for each complete frame, in order. Throws ProtocolError
   * (FRAME_TOO_LARGE or MALFORMED_FRAME) as soon as a length prefix is bad; the
   * connection cannot be resynchronised after that and must close.
   */
  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.pending < 0) {
        if (this.buffered < FRAME_LENGTH_BYTES) return;
        const length = this.peekUInt32();
        if (length > this.maxFrameBytes) {
          throw new ProtocolError(
            "FRAME_TOO_LARGE",
            `frame length ${length} exceeds the maximum of ${this.maxFrameBytes} bytes: send smaller requests or raise --max-frame-bytes`,
          );
        }
        if (length < FRAME_HEADER_BYTES) {
          throw new ProtocolError(
            "MALFORMED_FRAME",
            `frame length ${length} is shorter than the ${FRAME_HEADER_BYTES}-byte header: the peer does not speak the Tributary protocol`,
          );
        }
        this.consume(FRAME_LENGTH_BYTES);
        this.pending = length;
      }
      if (this.buffered < this.pending) return;
      const bytes = this.take(this.pending);
      this.pending = -1;
      onFrame({
        correlationId: bytes.readUInt32BE(0),
        apiKey: bytes[4]!,
        body: bytes.subarray(FRAME_HEADER_BYTES),
      });
    }
  }

  private peekUInt32(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    let value = 0;
    let got = 0;
    for (const c of this.chunks) {
      for (let i = 0; i < c.length && got < 4; i++, got++) value = value * 256 + c[i]!;
      if (got === 4) break;
    }
    return value;
  }

  private consume(n: number): void {
    this.take(n);
  }

  /** Removes and returns the next n bytes: a view when they lie in one chunk, else one copy. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const want = n - filled;
      if (c.length <= want) {
        c.copy(out, filled);
        filled += c.length;
        this.chunks.shift();
      } else {
        c.copy(out, filled, 0, want);
        this.chunks[0] = c.subarray(want);
        filled += want;
      }
    }
    return out;
  }
}
