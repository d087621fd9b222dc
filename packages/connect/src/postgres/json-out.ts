/**
 * Writes many small JSON values (record keys and envelopes) into large shared buffers:
 * `begin()` starts a value, the writers append to it, `end()` returns it as a view on the
 * buffer it was written in. A batch of records so costs one allocation per megabyte, not
 * one string and one Buffer per record. A value that outgrows the buffer moves, whole, to
 * a new one; the views already returned keep the old buffer alive until they are dropped.
 *
 * Every writer produces exactly the bytes JSON.stringify would for the same JS value, so
 * records built here equal those built from parsed rows (consumers compare them).
 */
export class JsonOut {
  buf: Buffer;
  pos = 0;
  private mark = 0;

  constructor(private readonly chunkBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafe(chunkBytes);
  }

  begin(): void {
    this.mark = this.pos;
  }

  /**
   * Writes on at `buf[pos…)`, a buffer someone else owns (a record batch written in place):
   * a value that outgrows it moves to a buffer of this writer's, as in `room`, which the
   * owner sees as `this.buf !== buf`.
   */
  into(buf: Buffer, pos: number): void {
    this.buf = buf;
    this.pos = pos;
    this.mark = pos;
  }

  /** Leaves `n` bytes unwritten (for the owner of the buffer to fill). */
  skip(n: number): void {
    this.room(n);
    this.pos += n;
  }

  /** Forgets everything written: only for a scratch buffer whose views never escape. */
  clear(): void {
    this.pos = 0;
    this.mark = 0;
  }

  /** Bytes written since `begin()` (positions relative to the value stay valid if it moves). */
  get written(): number {
    return this.pos - this.mark;
  }

  /** The value written since `begin()`. */
  end(): Buffer {
    // Buffer.from(arrayBuffer, offset, length) makes the same view as subarray, faster
    // (it skips the clamping): this runs twice per record.
    const b = this.buf;
    const v = Buffer.from(b.buffer, b.byteOffset + this.mark, this.pos - this.mark);
    this.mark = this.pos;
    return v;
  }

  /**
   * Ends the value without making a view of it: it is `buf[start, pos)` of the buffer
   * `buf` is now (kept by the caller while needed); returns `start`.
   */
  endSpan(): number {
    const start = this.mark;
    this.mark = this.pos;
    return start;
  }

  /** Copies `src[start, end)` (natively: for longer runs). */
  copy(src: Buffer, start: number, end: number): void {
    this.room(end - start);
    this.pos += src.copy(this.buf, this.pos, start, end);
  }

  /** Makes room for `n` more bytes, moving the value being written if needed. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const partial = this.pos - this.mark;
    const next = Buffer.allocUnsafe(Math.max(this.chunkBytes, 2 * (partial + n)));
    // Nothing written yet (`into` may start past the end of a full buffer): nothing to move.
    if (partial > 0) this.buf.copy(next, 0, this.mark, this.pos);
    this.buf = next;
    this.mark = 0;
    this.pos = partial;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    this.room(n);
    if (n > 24) this.buf.set(b, this.pos);
    else {
      // Short constants (column names) are copied faster here than by TypedArray.set.
      const buf = this.buf;
      const p = this.pos;
      for (let i = 0; i < n; i++) buf[p + i] = b[i]!;
    }
    this.pos += n;
  }

  /** Copies `src[start, end)` as is. */
  raw(src: Uint8Array, start: number, end: number): void {
    this.room(end - start);
    const buf = this.buf;
    let p = this.pos;
    for (let i = start; i < end; i++) buf[p++] = src[i]!;
    this.pos = p;
  }

  /** A JS string, as is (already JSON). */
  text(s: string): void {
    const n = s.length;
    this.room(3 * n);
    if (n <= 24) {
      // Short ASCII (numbers, null, punctuation) is copied faster here than by a native call.
      const buf = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          this.pos += buf.write(s, this.pos, "utf8");
          return;
        }
        buf[p++] = c;
      }
      this.pos = p;
      return;
    }
    this.pos += this.buf.write(s, this.pos, "utf8");
  }

  /** An integer with |n| < 2^53, as JSON.stringify writes it. */
  int(n: number): void {
    this.room(17);
    const buf = this.buf;
    if (n < 0) {
      buf[this.pos++] = 0x2d;
      n = -n;
    }
    let digits = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    do {
      const q = Math.floor(n / 10);
      buf[--p] = 0x30 + (n - 10 * q);
      n = q;
    } while (n > 0);
  }

  /** A number as JSON.stringify writes it (null when not finite). */
  number(n: number): void {
    if (Number.isInteger(n) && Math.abs(n) < 2 ** 53) {
      if (Object.is(n, -0)) this.int(0);
      else this.int(n);
    } else if (Number.isFinite(n)) this.text(String(n));
    else this.text("null");
  }

  /**
   * UTF-8 text `src[start, end)` as a JSON string: `"`, `\` and control characters
   * escaped as JSON.stringify escapes them, every other byte copied (Postgres sends valid
   * UTF-8, so there are no lone surrogates to escape).
   */
  string(src: Uint8Array, start: number, end: number): void {
    this.room(6 * (end - start) + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 0x22;
    for (let i = start; i < end; i++) {
      const b = src[i]!;
      if (b >= 0x20 && b !== 0x22 && b !== 0x5c) buf[p++] = b;
      else p = escapeByte(buf, p, b);
    }
    buf[p++] = 0x22;
    this.pos = p;
  }

  /**
   * A Date of `ms` since the epoch as JSON.stringify writes it: its ISO string, quoted,
   * or null when the time is outside what a Date holds.
   */
  date(ms: number): void {
    if (ms >= this.hourStart && ms < this.hourStart + 3_600_000) {
      // Rows of a table are mostly written within the same hour: `"YYYY-MM-DDTHH` is copied.
      this.room(26);
      const buf = this.buf;
      let p = this.pos;
      const prefix = this.hourPrefix;
      for (let i = 0; i < 14; i++) buf[p + i] = prefix[i]!;
      p += 14;
      let rest = ms - this.hourStart;
      const mi = Math.floor(rest / 60_000);
      rest -= mi * 60_000;
      const s = Math.floor(rest / 1000);
      buf[p++] = 0x3a;
      p = digits(buf, p, mi, 2);
      buf[p++] = 0x3a;
      p = digits(buf, p, s, 2);
      buf[p++] = 0x2e;
      p = digits(buf, p, rest - s * 1000, 3);
      buf[p++] = 0x5a;
      buf[p++] = 0x22;
      this.pos = p;
      return;
    }
    const start = this.pos;
    this.fullDate(ms);
    if (this.pos - start === 26) {
      this.hourStart = ms - (((ms % 3_600_000) + 3_600_000) % 3_600_000);
      this.buf.copy(this.hourPrefix, 0, start, start + 14);
    }
  }

  /** The hour the last full date fell in, and its `"YYYY-MM-DDTHH` (see `date`). */
  private hourStart = Number.NaN;
  private readonly hourPrefix = Buffer.alloc(14);

  private fullDate(ms: number): void {
    if (!(Math.abs(ms) <= 8.64e15)) {
      this.text("null");
      return;
    }
    const days = Math.floor(ms / 86_400_000);
    let rest = ms - days * 86_400_000;
    // Civil date from days since 1970-01-01 (Howard Hinnant's days_from_civil, inverted).
    const z = days + 719_468;
    const era = Math.floor(z / 146_097);
    const doe = z - era * 146_097;
    const yoe = Math.floor(
      (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
    );
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
    const month = mp < 10 ? mp + 3 : mp - 9;
    const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    if (year < 0 || year > 9999) {
      this.text(JSON.stringify(new Date(ms)));
      return;
    }
    this.room(26);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 0x22;
    p = triple(buf, p, year, 4, month, day, 0x2d);
    buf[p++] = 0x54;
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const mi = Math.floor(rest / 60_000);
    rest -= mi * 60_000;
    const s = Math.floor(rest / 1000);
    p = triple(buf, p, h, 2, mi, s, 0x3a);
    buf[p++] = 0x2e;
    p = digits(buf, p, rest - s * 1000, 3);
    buf[p++] = 0x5a;
    buf[p++] = 0x22;
    this.pos = p;
  }
}

/** `a` (`width` digits), `sep`, `b` (2 digits), `sep`, `c` (2 digits): a date or a time. */
function triple(
  buf: Buffer,
  p: number,
  a: number,
  width: number,
  b: number,
  c: number,
  sep: number,
) {
  p = digits(buf, p, a, width);
  buf[p++] = sep;
  p = digits(buf, p, b, 2);
  buf[p++] = sep;
  return digits(buf, p, c, 2);
}

/** `n` zero-padded to `width` digits at `p`; returns the position after them. */
function digits(buf: Buffer, p: number, n: number, width: number): number {
  for (let i = p + width - 1; i >= p; i--) {
    const q = Math.floor(n / 10);
    buf[i] = 0x30 + (n - 10 * q);
    n = q;
  }
  return p + width;
}

const SHORT_ESCAPES: Record<number, number> = {
  8: 0x62, // \b
  9: 0x74, // \t
  10: 0x6e, // \n
  12: 0x66, // \f
  13: 0x72, // \r
  34: 0x22, // \"
  92: 0x5c, // \\
};
const HEX = "0123456789abcdef";

function escapeByte(buf: Buffer, p: number, b: number): number {
  buf[p++] = 0x5c;
  const short = SHORT_ESCAPES[b];
  if (short !== undefined) {
    buf[p++] = short;
    return p;
  }
  buf[p++] = 0x75; // \u00XX
  buf[p++] = 0x30;
  buf[p++] = 0x30;
  buf[p++] = HEX.charCodeAt(b >> 4);
  buf[p++] = HEX.charCodeAt(b & 15);
  return p;
}
