import fs from "node:fs";

/**
 * The sparse offset index of one segment: it maps an offset to the byte position in the
 * segment's .log file of a batch at or before it, so a read scans at most about
 * `indexIntervalBytes` of batch headers. Offsets are stored relative to the segment's base
 * offset: if the base offset was 50, then the offset 55 would be stored as 5.
 *
 * One entry is added per `indexIntervalBytes` of log, naming the base offset and position
 * of the batch that crossed the interval. Offsets before the first entry are found by
 * scanning from position 0, so the first batch needs no entry.
 *
 * The entries live in memory (8 bytes each, a few hundred KB for a full 128 MB segment) and
 * are written to the file when the segment is sealed or the log is closed. The file is only
 * trusted for segments that were sealed and flushed before the recovery checkpoint or after
 * a clean shutdown; otherwise it is rebuilt from the log (see log-recovery.ts).
 *
 * Not safe for concurrent use; the owning LogSegment serialises access.
 */
/*
 * OffsetIndex file =>
 *   entries:[Entry]            entry count = file size / 8; ascending in both fields
 *   Entry =>
 *     relativeOffset:uint32    batch base offset minus the segment's base offset
 *     position:uint32          byte position of that batch in the .log file
 */
export const OFFSET_INDEX_ENTRY_SIZE = 8;

export class OffsetIndex {
  private entries: Buffer;
  private count = 0;

  constructor(
    readonly path: string,
    readonly baseOffset: number,
  ) {
    this.entries = Buffer.allocUnsafe(64 * OFFSET_INDEX_ENTRY_SIZE);
  }

  get entryCount(): number {
    return this.count;
  }

  /** Bytes the index occupies in memory and in its file. */
  get sizeInBytes(): number {
    return this.count * OFFSET_INDEX_ENTRY_SIZE;
  }

  /** Offset of the last entry, or the base offset when empty. */
  get lastOffset(): number {
    return this.count === 0 ? this.baseOffset : this.offsetAt(this.count - 1);
  }

  /** Position of the last entry, or 0 when empty. */
  get lastPosition(): number {
    return this.count === 0 ? 0 : this.positionAt(this.count - 1);
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.entries.readUInt32BE(i * OFFSET_INDEX_ENTRY_SIZE);
  }

  positionAt(i: number): number {
    return this.entries.readUInt32BE(i * OFFSET_INDEX_ENTRY_SIZE + 4);
  }

  /** Adds an entry; offsets and positions must grow (callers append in log order). */
  append(offset: number, position: number): void {
    const rel = offset - this.baseOffset;
    if (
      this.count > 0 &&
      (rel <= this.entries.readUInt32BE((this.count - 1) * 8) || position <= this.lastPosition)
    ) {
      throw new RangeError(
        `offset index ${this.path}: entry (${offset}, ${position}) does not follow (${this.lastOffset}, ${this.lastPosition})`,
      );
    }
    if ((this.count + 1) * OFFSET_INDEX_ENTRY_SIZE > this.entries.length) this.grow();
    const at = this.count * OFFSET_INDEX_ENTRY_SIZE;
    this.entries.writeUInt32BE(rel, at);
    this.entries.writeUInt32BE(position, at + 4);
    this.count++;
  }

  /**
   * The entry with the largest offset <= `offset`: the position to start scanning from.
   * Position 0 (and the base offset) when `offset` precedes every entry.
   */
  lookup(offset: number): { offset: number; position: number } {
    const i = this.floorIndex(offset);
    return i < 0
      ? { offset: this.baseOffset, position: 0 }
      : { offset: this.offsetAt(i), position: this.positionAt(i) };
  }

  /** Index of the last entry with offset <= `offset`, or -1. */
  private floorIndex(offset: number): number {
    const rel = offset - this.baseOffset;
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries.readUInt32BE(mid * OFFSET_INDEX_ENTRY_SIZE) <= rel) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Drops every entry whose position is >= `position` (the log was truncated there). */
  truncateToPosition(position: number): void {
    while (this.count > 0 && this.positionAt(this.count - 1) >= position) this.count--;
  }

  clear(): void {
    this.count = 0;
  }

  /**
   * Loads the file, or returns false when it is missing or fails the sanity check (size not
   * a multiple of the entry size, entries not ascending, a position at or past `logSize`):
   * the caller then rebuilds it from the log.
   */
  load(logSize: number): boolean {
    let data: Buffer;
    try {
      data = fs.readFileSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    if (data.length % OFFSET_INDEX_ENTRY_SIZE !== 0) return false;
    const n = data.length / OFFSET_INDEX_ENTRY_SIZE;
    let prevRel = -1;
    let prevPos = -1;
    for (let i = 0; i < n; i++) {
      const rel = data.readUInt32BE(i * 8);
      const pos = data.readUInt32BE(i * 8 + 4);
      if (rel <= prevRel || pos <= prevPos || pos >= logSize) return false;
      prevRel = rel;
      prevPos = pos;
    }
    this.entries =
      data.length >= 64 * OFFSET_INDEX_ENTRY_SIZE ? data : Buffer.concat([data], 64 * 8);
    this.count = n;
    return true;
  }

  /** Writes the entries to the file (replacing it); durability is the caller's fsync. */
  writeFile(): void {
    fs.writeFileSync(this.path, this.entries.subarray(0, this.sizeInBytes));
  }

  private grow(): void {
    const next = Buffer.allocUnsafe(this.entries.length * 2);
    this.entries.copy(next, 0, 0, this.sizeInBytes);
    this.entries = next;
  }
}
