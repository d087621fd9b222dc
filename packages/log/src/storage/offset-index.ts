import { SparseIndex } from "./sparse-index.js";

/** Relative offsets in the indexes are uint32. */
export const MAX_RELATIVE_OFFSET = 0xffffffff;

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
 * Not safe for concurrent use; the owning LogSegment serialises access. Buffer, loading and
 * writing are shared with the time index in SparseIndex.
 */
/*
 * OffsetIndex file =>
 *   entries:[Entry]            entry count = file size / 8; ascending in both fields
 *   Entry =>
 *     relativeOffset:uint32    batch base offset minus the segment's base offset
 *     position:uint32          byte position of that batch in the .log file
 */
export const OFFSET_INDEX_ENTRY_SIZE = 8;

export class OffsetIndex extends SparseIndex {
  constructor(path: string, baseOffset: number) {
    super(path, baseOffset, OFFSET_INDEX_ENTRY_SIZE);
  }

  /** Position of the last entry, or 0 when empty. */
  get lastPosition(): number {
    return this.count === 0 ? 0 : this.positionAt(this.count - 1);
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.relativeOffsetAt(i);
  }

  positionAt(i: number): number {
    return this.entries.readUInt32BE(i * OFFSET_INDEX_ENTRY_SIZE + 4);
  }

  private relativeOffsetAt(i: number): number {
    return this.entries.readUInt32BE(i * OFFSET_INDEX_ENTRY_SIZE);
  }

  /** Adds an entry; offsets and positions must grow (callers append in log order). */
  append(offset: number, position: number): void {
    const rel = offset - this.baseOffset;
    if (
      this.count > 0 &&
      (rel <= this.relativeOffsetAt(this.count - 1) || position <= this.lastPosition)
    ) {
      throw new RangeError(
        `offset index ${this.path}: entry (${offset}, ${position}) does not follow (${this.lastOffset}, ${this.lastPosition})`,
      );
    }
    const at = this.nextEntryAt();
    this.entries.writeUInt32BE(rel, at);
    this.entries.writeUInt32BE(position, at + 4);
    this.count++;
  }

  /**
   * The entry with the largest offset <= `offset`: the position to start scanning from.
   * Position 0 (and the base offset) when `offset` precedes every entry.
   */
  lookup(offset: number): { offset: number; position: number } {
    const rel = offset - this.baseOffset;
    const i = this.lastIndexWhere((j) => this.relativeOffsetAt(j) <= rel);
    return i < 0
      ? { offset: this.baseOffset, position: 0 }
      : { offset: this.offsetAt(i), position: this.positionAt(i) };
  }

  /** Drops every entry whose position is >= `position` (the log was truncated there). */
  truncateToPosition(position: number): void {
    this.truncateWhile((i) => this.positionAt(i) >= position);
  }

  /**
   * Loads the file, or returns false when it is missing or fails the sanity check (size not
   * a multiple of the entry size, entries not ascending, a position at or past `logSize`):
   * the caller then rebuilds it from the log.
   */
  load(logSize: number): boolean {
    return this.loadEntries((data, n) => {
      let prevRel = -1;
      let prevPos = -1;
      for (let i = 0; i < n; i++) {
        const rel = data.readUInt32BE(i * OFFSET_INDEX_ENTRY_SIZE);
        const pos = data.readUInt32BE(i * OFFSET_INDEX_ENTRY_SIZE + 4);
        if (rel <= prevRel || pos <= prevPos || pos >= logSize) return false;
        prevRel = rel;
        prevPos = pos;
      }
      return true;
    });
  }
}
