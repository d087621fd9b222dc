/**
 * The offset ranges of a partition already in committed files, read back from the file
 * names at start. A redelivered record inside one of them is skipped, so files neither
 * lose nor repeat rows across restarts. Ranges are contiguous runs (the sink cuts a file
 * wherever a partition's next record goes to another file), so "inside" is exact.
 */
export class CommittedRanges {
  private readonly ranges = new Map<string, [number, number][]>();

  add(topic: string, partition: number, first: number, last: number): void {
    const key = `${topic}\u0000${partition}`;
    let list = this.ranges.get(key);
    if (list === undefined) {
      list = [];
      this.ranges.set(key, list);
    }
    list.push([first, last]);
  }

  has(topic: string, partition: number, offset: number): boolean {
    const list = this.ranges.get(`${topic}\u0000${partition}`);
    return list?.some(([a, b]) => offset >= a && offset <= b) ?? false;
  }
}

/**
 * A committed file's name: `<topic>+<partition>+<first offset>-<last offset>.<ext>`
 * (zero-padded offsets, so names sort in offset order).
 */
export function fileName(
  topic: string,
  partition: number,
  first: number,
  last: number,
  ext: string,
) {
  const pad = (n: number) => String(n).padStart(20, "0");
  return `${topic}+${partition}+${pad(first)}-${pad(last)}.${ext}`;
}

export function parseFileName(
  name: string,
): { topic: string; partition: number; first: number; last: number } | undefined {
  const m = /^(.+)\+(\d+)\+(\d+)-(\d+)\.(jsonl|parquet)$/.exec(name);
  if (m === null) return undefined;
  return { topic: m[1]!, partition: Number(m[2]), first: Number(m[3]), last: Number(m[4]) };
}
