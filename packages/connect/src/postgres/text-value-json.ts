import pg from "pg";
import type { JsonOut } from "./json-out.js";

/**
 * Writes one non-null column value, given in Postgres' text form (as pgoutput sends it)
 * at `src[start, end)`, as the JSON that JSON.stringify writes for the value
 * node-postgres' type parser makes of it. Common types are written from the bytes with no
 * intermediate value; the rest go through the parser, as before.
 */
export type TextValueJson = (out: JsonOut, src: Buffer, start: number, end: number) => void;

export function textValueJson(oid: number): TextValueJson {
  switch (oid) {
    case 21: // int2, int4, oid: canonical decimals, which parseInt and JSON keep as they are
    case 23:
    case 26:
      return (out, src, start, end) => out.raw(src, start, end);
    case 20: // int8, numeric, uuid: node-postgres keeps them strings (no escapes needed)
    case 1700:
    case 2950:
      return quotedValue;
    case 25: // text, varchar, bpchar, name
    case 1042:
    case 1043:
    case 19:
      return (out, src, start, end) => out.string(src, start, end);
    case 16: // bool: 't' or 'f'
      return (out, src, start) => out.text(src[start] === 0x74 ? "true" : "false");
    case 1184: {
      const slow = parsedValue(oid);
      return (out, src, start, end) => {
        const ms = timestamptzMs(src, start, end);
        if (ms === undefined) slow(out, src, start, end);
        else out.date(ms);
      };
    }
    default:
      return parsedValue(oid);
  }
}

const quotedValue: TextValueJson = (out, src, start, end) => {
  out.text('"');
  out.raw(src, start, end);
  out.text('"');
};

function parsedValue(oid: number): TextValueJson {
  const parse = pg.types.getTypeParser(oid, "text") as (text: string) => unknown;
  return (out, src, start, end) =>
    out.text(JSON.stringify(parse(src.toString("utf8", start, end))) ?? "null");
}

/**
 * The instant of timestamptz text in its usual form, `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]]`
 * with a year from 1000, as postgres-date computes it (the fraction beyond ms dropped);
 * undefined for any other form (BC, infinity, other years), which the parser handles.
 */
function timestamptzMs(src: Buffer, start: number, end: number): number | undefined {
  const len = end - start;
  if (len < 22 || src[start + 4] !== 0x2d || src[start + 10] !== 0x20) return undefined;
  const n = (at: number, width: number) => {
    let v = 0;
    for (let i = start + at; i < start + at + width; i++) {
      const d = src[i]! - 0x30;
      if (d < 0 || d > 9) return -1;
      v = v * 10 + d;
    }
    return v;
  };
  const year = n(0, 4);
  const month = n(5, 2);
  const day = n(8, 2);
  const hour = n(11, 2);
  const minute = n(14, 2);
  const second = n(17, 2);
  if (year < 1000 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) {
    return undefined;
  }
  let p = start + 19;
  let us = 0;
  if (src[p] === 0x2e) {
    let scale = 100_000;
    for (p++; p < end && src[p]! >= 0x30 && src[p]! <= 0x39; p++) {
      if (scale < 1) return undefined;
      us += (src[p]! - 0x30) * scale;
      scale /= 10;
    }
  }
  const sign = src[p] === 0x2b ? 1 : src[p] === 0x2d ? -1 : 0;
  if (sign === 0) return undefined;
  const zone = [0, 0, 0];
  let parts = 0;
  for (p++; p < end; parts++) {
    if (parts > 0 && src[p++] !== 0x3a) return undefined;
    const a = src[p]! - 0x30;
    const b = src[p + 1]! - 0x30;
    if (parts > 2 || p + 2 > end || a < 0 || a > 9 || b < 0 || b > 9) return undefined;
    zone[parts] = a * 10 + b;
    p += 2;
  }
  if (parts === 0) return undefined;
  const offsetMs = sign * (zone[0]! * 3600 + zone[1]! * 60 + zone[2]!) * 1000;
  return Date.UTC(year, month - 1, day, hour, minute, second, Math.floor(us / 1000)) - offsetMs;
}
