/**
 * How a segment's files are named: `<baseOffset zero-padded to 20 digits><suffix>`, so
 * that names sort like offsets. A segment is `<base>.log` (its batches), `<base>.index`
 * (OffsetIndex) and `<base>.timeindex` (TimeIndex).
 */
export const LOG_SUFFIX = ".log";
export const INDEX_SUFFIX = ".index";
export const TIME_INDEX_SUFFIX = ".timeindex";

export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, "0") + suffix;
}

/** The base offset a segment file name stands for, or null for other files. */
export function parseSegmentFileName(name: string, suffix = LOG_SUFFIX): number | null {
  if (!name.endsWith(suffix)) return null;
  const stem = name.slice(0, -suffix.length);
  if (!/^\d{20}$/.test(stem)) return null;
  const n = Number(stem);
  return Number.isSafeInteger(n) ? n : null;
}
