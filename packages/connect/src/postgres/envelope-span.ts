/** Where a change envelope's `after` lies in its JSON bytes, and whether it is a delete. */
export interface EnvelopeSpan {
  /** `op` is exactly "d". */
  isDelete: boolean;
  /** `value[afterStart, afterEnd)` is the JSON text of `after`. */
  afterStart: number;
  afterEnd: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MAX_DEPTH = 64;

/**
 * Finds `op` and `after` in a change envelope's JSON (change-envelope.ts) without parsing
 * the rest of it (the `source` block is most of the bytes and the sink never reads it),
 * while checking that all of it is JSON: the sink then parses only `after`, and sends its
 * bytes to Postgres as they came. Undefined when the value is not JSON, not an envelope
 * (an object with a string `op`, `before` and `after`), or not plain enough to be sure (an
 * escaped member name or `op`, nesting past 64): the caller then does what JSON.parse
 * says. Like JSON.parse, a repeated member counts as its last occurrence.
 */
export function envelopeSpan(s: Uint8Array): EnvelopeSpan | undefined {
  let p = ws(s, 0);
  if (s[p] !== 0x7b) return undefined;
  p = ws(s, p + 1);
  let op = -1;
  let afterStart = -1;
  let afterEnd = -1;
  let before = false;
  if (s[p] === 0x7d) p++;
  else {
    for (;;) {
      if (s[p] !== QUOTE) return undefined;
      const nameEnd = stringEnd(s, p);
      if (nameEnd < 0) return undefined;
      const name = nameOf(s, p + 1, nameEnd - 1);
      if (name === ESCAPED) return undefined;
      p = ws(s, nameEnd);
      if (s[p] !== 0x3a) return undefined;
      const start = ws(s, p + 1);
      const end = valueEnd(s, start, 1);
      if (end < 0) return undefined;
      if (name === OP) {
        // Only a plain string op counts; anything else is not an envelope (or needs parsing).
        if (s[start] !== QUOTE) op = -2;
        else {
          for (let i = start + 1; i < end - 1; i++) if (s[i] === BACKSLASH) return undefined;
          op = end - start === 3 && s[start + 1] === 0x64 ? 1 : 0;
        }
      } else if (name === AFTER) {
        afterStart = start;
        afterEnd = end;
      } else if (name === BEFORE) before = true;
      p = ws(s, end);
      if (s[p] === 0x2c) {
        p = ws(s, p + 1);
        continue;
      }
      if (s[p] !== 0x7d) return undefined;
      p++;
      break;
    }
  }
  if (ws(s, p) !== s.length) return undefined;
  if (op < 0 || afterStart < 0 || !before) return undefined;
  return { isDelete: op === 1, afterStart, afterEnd };
}

const OP = 1;
const AFTER = 2;
const BEFORE = 3;
const OTHER = 0;
const ESCAPED = -1;

/** Which of the names that matter `s[start, end)` is (escaped names are not decoded). */
function nameOf(s: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) if (s[i] === BACKSLASH) return ESCAPED;
  const n = end - start;
  if (n === 2) return s[start] === 0x6f && s[start + 1] === 0x70 ? OP : OTHER;
  if (n === 5) return matches(s, start, "after") ? AFTER : OTHER;
  if (n === 6) return matches(s, start, "before") ? BEFORE : OTHER;
  return OTHER;
}

function matches(s: Uint8Array, start: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) if (s[start + i] !== word.charCodeAt(i)) return false;
  return true;
}

function ws(s: Uint8Array, p: number): number {
  for (;;) {
    const c = s[p];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return p;
    p++;
  }
}

/** The index after the JSON value at `p`, or -1 if there is none (RFC 8259 grammar). */
function valueEnd(s: Uint8Array, p: number, depth: number): number {
  const c = s[p];
  if (c === QUOTE) return stringEnd(s, p);
  if (c === 0x7b || c === 0x5b) {
    if (depth > MAX_DEPTH) return -1;
    const close = c === 0x7b ? 0x7d : 0x5d;
    p = ws(s, p + 1);
    if (s[p] === close) return p + 1;
    for (;;) {
      if (c === 0x7b) {
        if (s[p] !== QUOTE) return -1;
        p = stringEnd(s, p);
        if (p < 0) return -1;
        p = ws(s, p);
        if (s[p] !== 0x3a) return -1;
        p = ws(s, p + 1);
      }
      p = valueEnd(s, p, depth + 1);
      if (p < 0) return -1;
      p = ws(s, p);
      if (s[p] === close) return p + 1;
      if (s[p] !== 0x2c) return -1;
      p = ws(s, p + 1);
    }
  }
  if (c === 0x74) return matches(s, p, "true") ? p + 4 : -1;
  if (c === 0x66) return matches(s, p, "false") ? p + 5 : -1;
  if (c === 0x6e) return matches(s, p, "null") ? p + 4 : -1;
  return numberEnd(s, p);
}

/** The index after the string whose opening quote is at `p`, or -1. */
function stringEnd(s: Uint8Array, p: number): number {
  let i = p + 1;
  for (;;) {
    const c = s[i];
    if (c === undefined || c < 0x20) return -1;
    if (c === QUOTE) return i + 1;
    if (c !== BACKSLASH) {
      i++;
      continue;
    }
    const e = s[i + 1];
    if (e === 0x75) {
      for (let h = i + 2; h < i + 6; h++) if (!isHex(s[h])) return -1;
      i += 6;
    } else if (
      e === QUOTE ||
      e === BACKSLASH ||
      e === 0x2f ||
      e === 0x62 ||
      e === 0x66 ||
      e === 0x6e ||
      e === 0x72 ||
      e === 0x74
    ) {
      i += 2;
    } else return -1;
  }
}

function isHex(c: number | undefined): boolean {
  return (
    c !== undefined &&
    ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))
  );
}

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

/** -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
function numberEnd(s: Uint8Array, p: number): number {
  if (s[p] === 0x2d) p++;
  if (s[p] === 0x30) p++;
  else if (isDigit(s[p])) while (isDigit(s[p])) p++;
  else return -1;
  if (s[p] === 0x2e) {
    p++;
    if (!isDigit(s[p])) return -1;
    while (isDigit(s[p])) p++;
  }
  if (s[p] === 0x65 || s[p] === 0x45) {
    p++;
    if (s[p] === 0x2b || s[p] === 0x2d) p++;
    if (!isDigit(s[p])) return -1;
    while (isDigit(s[p])) p++;
  }
  return p;
}
