/**
 * Kafka's zigzag varints (protobuf's sint32/sint64), as its record format v2 uses them:
 * zigzag maps 0, -1, 1, -2, ... to 0, 1, 2, 3, ..., then 7 bits per byte, low groups
 * first, the high bit set on every byte but the last. `varint` is a 32-bit value (at most 5
 * bytes), `varlong` a 64-bit one (at most 10); here a varlong is a JS number, exact up to
 * 2^53, which ms timestamps and their deltas stay well inside, so no BigInt on the hot path.
 *
 * The readers return the value and leave the position after it in `varintEnd` (one module
 * variable instead of a result object per call: they run several times per record). They
 * never throw: a varint that runs past its record reads garbage and moves `varintEnd` past
 * the record, which the caller checks.
 */

/** The position after the last varint read. */
export let varintEnd = 0;

const INT_RANGE = 0x40000000;

/** Zigzag of a 32-bit signed value, as an unsigned 32-bit number. */
function zigzag32(n: number): number {
  return ((n << 1) ^ (n >> 31)) >>> 0;
}

function unsignedSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

export function sizeOfVarint(n: number): number {
  return unsignedSize(zigzag32(n));
}

export function sizeOfVarlong(n: number): number {
  if (n >= -INT_RANGE && n < INT_RANGE) return unsignedSize(zigzag32(n));
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  let size = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    size++;
  }
  return size;
}

/** Size of the varint of `n`, a length or count (0 <= n < 2^30): its zigzag is 2n. */
export function sizeOfLength(n: number): number {
  return n < 0x40 ? 1 : n < 0x2000 ? 2 : n < 0x100000 ? 3 : n < 0x8000000 ? 4 : 5;
}

/**
 * Writes `n`, a length or count (0 <= n < 2^30), as a varint; returns the position after
 * it. The encoder's most frequent call, so its one- and two-byte cases are spelled out.
 */
export function writeLength(buf: Uint8Array, pos: number, n: number): number {
  if (n < 0x40) {
    buf[pos] = n << 1;
    return pos + 1;
  }
  if (n < 0x2000) {
    buf[pos] = ((n << 1) & 0x7f) | 0x80;
    buf[pos + 1] = n >>> 6;
    return pos + 2;
  }
  return writeVarint(buf, pos, n);
}

/** Writes `n` (a 32-bit signed value) at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  let v = zigzag32(n);
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Writes `n` (an integer within ±2^53) at `pos`; returns the position after it. */
export function writeVarlong(buf: Uint8Array, pos: number, n: number): number {
  if (n >= -INT_RANGE && n < INT_RANGE) return writeVarint(buf, pos, n);
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/**
 * The one- and two-byte cases both readers share, with no loop (records are mostly short:
 * lengths, offset deltas, small timestamp deltas). NaN when the value is longer.
 */
function readShort(buf: Uint8Array, pos: number): number {
  const b0 = buf[pos]!;
  if (b0 < 0x80) {
    varintEnd = pos + 1;
    return (b0 >>> 1) ^ -(b0 & 1);
  }
  const b1 = buf[pos + 1]!;
  if (b1 < 0x80) {
    const v = (b0 & 0x7f) | (b1 << 7);
    varintEnd = pos + 2;
    return (v >>> 1) ^ -(v & 1);
  }
  return Number.NaN;
}

/** Reads a varint at `pos`; the position after it is left in `varintEnd`. */
export function readVarint(buf: Uint8Array, pos: number): number {
  const v = readShort(buf, pos);
  return Number.isNaN(v) ? readLongVarint(buf, pos) : v;
}

function readLongVarint(buf: Uint8Array, pos: number): number {
  let b = buf[pos++]!;
  let v = b & 0x7f;
  for (let shift = 7; shift < 35; shift += 7) {
    b = buf[pos++]!;
    v |= (b & 0x7f) << shift;
    if (!(b >= 0x80)) break;
  }
  varintEnd = pos;
  return (v >>> 1) ^ -(v & 1);
}

/** Reads a varlong at `pos`; the position after it is left in `varintEnd`. */
export function readVarlong(buf: Uint8Array, pos: number): number {
  const short = readShort(buf, pos);
  if (!Number.isNaN(short)) return short;
  let b = buf[pos++]!;
  let v = b & 0x7f;
  let scale = 0x80;
  for (let i = 1; i < 10; i++) {
    b = buf[pos++]!;
    v += (b & 0x7f) * scale;
    if (!(b >= 0x80)) break;
    scale *= 0x80;
  }
  varintEnd = pos;
  return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
}
