import type { JsonOut } from "./json-out.js";

/**
 * Writes one non-null column value, given in Postgres' binary format (the `send` function
 * of its type, as `COPY … (FORMAT binary)` delivers it) at `src[start, start + len)`, as
 * the JSON that JSON.stringify writes for the value node-postgres parses from the same
 * value's text form. So a snapshot read in binary yields the same records as one read
 * through the query protocol, and as the change stream (text, parsed by node-postgres).
 */
export type BinaryValueJson = (
  out: JsonOut,
  src: Buffer,
  dv: DataView,
  start: number,
  len: number,
) => void;

export interface BinaryTypeContext {
  /** OIDs of enum types (sent as their label, like text). */
  enums: ReadonlySet<number>;
  /** The session's extra_float_digits: how the text form of floats is rounded. */
  extraFloatDigits: number;
}

const TWO_32 = 4294967296;
// Microseconds from the Unix epoch to Postgres' (2000-01-01), and days.
const PG_EPOCH_US = 946_684_800_000_000;
const PG_EPOCH_DAYS = 10_957;

/** The writer for a column of type `oid`, or undefined when it has none (read it as text). */
export function binaryValueJson(oid: number, ctx: BinaryTypeContext): BinaryValueJson | undefined {
  if (ctx.enums.has(oid)) return stringValue;
  switch (oid) {
    case 16: // bool
      return (out, src, _dv, start) => out.text(src[start] === 0 ? "false" : "true");
    case 21: // int2
      return (out, _src, dv, start) => out.int(dv.getInt16(start));
    case 23: // int4
      return (out, _src, dv, start) => out.int(dv.getInt32(start));
    case 26: // oid
      return (out, _src, dv, start) => out.int(dv.getUint32(start));
    case 20: // int8: node-postgres keeps it a string
      return (out, _src, dv, start) => out.text(`"${int64Text(dv, start)}"`);
    case 700: // float4
      return (out, _src, dv, start) =>
        out.number(float4Value(dv.getFloat32(start), ctx.extraFloatDigits));
    case 701: // float8
      return (out, _src, dv, start) => {
        const v = dv.getFloat64(start);
        const d = ctx.extraFloatDigits;
        out.number(d > 0 || !Number.isFinite(v) ? v : Number(v.toPrecision(Math.max(1, 15 + d))));
      };
    case 1700: // numeric: a string
      return (out, _src, dv, start) => out.text(`"${numericText(dv, start)}"`);
    case 25: // text
    case 1042: // bpchar
    case 1043: // varchar
    case 19: // name
      return stringValue;
    case 2950: // uuid
      return (out, src, _dv, start) => out.text(`"${uuidText(src, start)}"`);
    case 17: // bytea: a Buffer, which JSON.stringify writes as {"type":"Buffer","data":[…]}
      return (out, src, _dv, start, len) => {
        out.text('{"type":"Buffer","data":[');
        for (let i = 0; i < len; i++) {
          if (i > 0) out.text(",");
          out.int(src[start + i]!);
        }
        out.text("]}");
      };
    case 114: // json: parsed, so written as JSON.stringify normalises it
      return (out, src, _dv, start, len) =>
        out.text(JSON.stringify(JSON.parse(src.toString("utf8", start, start + len))));
    case 3802: // jsonb: a version byte (1), then the text
      return (out, src, _dv, start, len) =>
        out.text(JSON.stringify(JSON.parse(src.toString("utf8", start + 1, start + len))));
    case 1184: // timestamptz: µs since 2000-01-01 UTC
      return (out, _src, dv, start) => {
        const ms = timestampMs(dv, start);
        if (ms === undefined) out.text("null");
        else out.date(ms);
      };
    case 1114: // timestamp: node-postgres reads it as local time
      return (out, _src, dv, start) => {
        const ms = timestampMs(dv, start);
        out.text(ms === undefined ? "null" : localDateJson(ms));
      };
    case 1082: {
      // date: days since 2000-01-01, read as local midnight
      return (out, _src, dv, start) => {
        const days = dv.getInt32(start);
        const infinite = days === 0x7fffffff || days === -0x80000000;
        out.text(infinite ? "null" : localDateJson((days + PG_EPOCH_DAYS) * 86_400_000));
      };
    }
    default:
      return undefined;
  }
}

const stringValue: BinaryValueJson = (out, src, _dv, start, len) =>
  out.string(src, start, start + len);

function int64Text(dv: DataView, start: number): string {
  const hi = dv.getInt32(start);
  const lo = dv.getUint32(start + 4);
  if (hi >= -0x200000 && hi < 0x200000) return String(hi * TWO_32 + lo);
  return String((BigInt(hi) << 32n) | BigInt(lo));
}

/**
 * ms since the Unix epoch (the fraction of a ms dropped, as node-postgres drops it), or
 * undefined for ±infinity (node-postgres: ±Infinity, which JSON writes as null).
 */
function timestampMs(dv: DataView, start: number): number | undefined {
  const hi = dv.getInt32(start);
  const lo = dv.getUint32(start + 4);
  if ((hi === 0x7fffffff && lo === 0xffffffff) || (hi === -0x80000000 && lo === 0)) {
    return undefined;
  }
  // Within ±142 years of 2000 a double holds the µs exactly.
  if (hi >= -0x100000 && hi < 0x100000) return Math.floor((hi * TWO_32 + lo + PG_EPOCH_US) / 1000);
  const us = ((BigInt(hi) << 32n) | BigInt(lo)) + BigInt(PG_EPOCH_US);
  return Number(us / 1000n - (us % 1000n < 0n ? 1n : 0n));
}

/**
 * The JSON of the Date node-postgres makes from a timestamp without time zone (or a
 * date): the same wall-clock fields, taken as local time, years 0-99 kept as such.
 */
function localDateJson(wallMs: number): string {
  const w = new Date(wallMs);
  if (Number.isNaN(w.getTime())) return "null";
  const year = w.getUTCFullYear();
  const d = new Date(
    year,
    w.getUTCMonth(),
    w.getUTCDate(),
    w.getUTCHours(),
    w.getUTCMinutes(),
    w.getUTCSeconds(),
    w.getUTCMilliseconds(),
  );
  if (year >= 0 && year < 100) d.setFullYear(year);
  return JSON.stringify(d);
}

/**
 * What parseFloat gives for float4's text form: the shortest decimal that reads back as
 * the same float4 (extra_float_digits > 0, the default since Postgres 12), else the value
 * rounded to 6 + extra_float_digits digits.
 */
function float4Value(f: number, extraFloatDigits: number): number {
  if (!Number.isFinite(f)) return f;
  if (extraFloatDigits <= 0) return Number(f.toPrecision(Math.max(1, 6 + extraFloatDigits)));
  for (let p = 1; p < 9; p++) {
    const v = Number(f.toPrecision(p));
    if (Math.fround(v) === f) return v;
  }
  return Number(f.toPrecision(9));
}

/**
 * numeric's text form from its binary one:
 *   ndigits:int16 weight:int16 sign:uint16 dscale:int16 digits:[int16] (base 10000)
 * as Postgres' get_str_from_var writes it (dscale digits after the point).
 */
function numericText(dv: DataView, start: number): string {
  const ndigits = dv.getInt16(start);
  const weight = dv.getInt16(start + 2);
  const sign = dv.getUint16(start + 4);
  const dscale = dv.getInt16(start + 6);
  if (sign === 0xc000) return "NaN";
  if (sign === 0xd000) return "Infinity";
  if (sign === 0xf000) return "-Infinity";
  const digit = (d: number) => (d >= 0 && d < ndigits ? dv.getInt16(start + 8 + 2 * d) : 0);
  let s = sign === 0x4000 ? "-" : "";
  let d = 0;
  if (weight < 0) {
    d = weight + 1;
    s += "0";
  } else {
    for (; d <= weight; d++) s += d === 0 ? String(digit(d)) : String(digit(d)).padStart(4, "0");
  }
  if (dscale > 0) {
    let f = "";
    for (let i = 0; i < dscale; d++, i += 4) f += String(digit(d)).padStart(4, "0");
    s += `.${f.slice(0, dscale)}`;
  }
  return s;
}

function uuidText(src: Buffer, start: number): string {
  const h = src.toString("hex", start, start + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
