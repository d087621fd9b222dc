import { InvalidArgumentError } from "@tributary/log";

/**
 * Parsers for flag values. Each throws InvalidArgumentError (exit code 2) naming the flag,
 * what it got and what it expects, so a typo never turns into a silent default.
 */

export function parseInteger(flag: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(`${flag} ${raw}: expected an integer from ${min} to ${max}`);
  }
  return n;
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/**
 * A duration in ms, either ISO-8601 (`PT10M`, `P1DT2H`, `PT0.5S`; no years or months,
 * whose length varies) or shorthand (`10m`, `1h30m`, `500ms`, `2d`). A leading `-` negates.
 */
export function parseDuration(flag: string, raw: string): number {
  const text = raw.trim();
  const negative = text.startsWith("-");
  const body = negative ? text.slice(1) : text;
  let ms: number | undefined;
  const iso =
    /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(
      body,
    );
  if (iso !== null && body.length > 1 && !/T$/i.test(body)) {
    const [, w, d, h, m, s] = iso;
    ms =
      Number(w ?? 0) * UNIT_MS.w! +
      Number(d ?? 0) * UNIT_MS.d! +
      Number(h ?? 0) * UNIT_MS.h! +
      Number(m ?? 0) * UNIT_MS.m! +
      Number(s ?? 0) * UNIT_MS.s!;
  } else if (/^(\d+(?:\.\d+)?(ms|s|m|h|d|w))+$/.test(body)) {
    ms = 0;
    for (const part of body.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) {
      ms += Number(part[1]) * UNIT_MS[part[2]!]!;
    }
  }
  if (ms === undefined || !Number.isFinite(ms)) {
    throw new InvalidArgumentError(
      `${flag} ${raw}: expected a duration such as PT10M, P1DT2H, 10m or 1h30m`,
    );
  }
  return Math.round(negative ? -ms : ms);
}

/**
 * A point in time in ms since the epoch: ISO-8601 (`2024-05-01T12:00:00Z`; without a zone
 * it is local time, as Date.parse reads it) or an integer of epoch milliseconds.
 */
export function parseDatetime(flag: string, raw: string): number {
  const text = raw.trim();
  if (/^-?\d+$/.test(text)) return parseInteger(flag, text, 0, Number.MAX_SAFE_INTEGER);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new InvalidArgumentError(
      `${flag} ${raw}: expected an ISO-8601 date-time such as 2024-05-01T12:00:00Z, or epoch ms`,
    );
  }
  return ms;
}

/** Commander collector for a repeatable `--config name=value`. */
export function collectKeyValue(raw: string, previous: Record<string, string> = {}) {
  const eq = raw.indexOf("=");
  if (eq <= 0) {
    throw new InvalidArgumentError(
      `--config ${raw}: expected name=value, e.g. retention.ms=3600000`,
    );
  }
  return { ...previous, [raw.slice(0, eq).trim()]: raw.slice(eq + 1).trim() };
}

/** A comma-separated list; repeated flags add up. */
export function collectList(raw: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  ];
}

export function oneOf<T extends string>(flag: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new InvalidArgumentError(`${flag} ${raw}: expected one of ${allowed.join(", ")}`);
  }
  return raw as T;
}
