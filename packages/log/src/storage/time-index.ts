import { readInt64, writeInt64 } from "../record-batch.js";
import { SparseIndex } from "./sparse-index.js";

/**
 * The sparse time index of one segment. An entry (T, O) says: every record in the batches
 * of this segment up to and including the batch that starts at offset O has a timestamp
 * <= T. Entries are added at the offset index's interval, and only when the segment's
 * largest timestamp so far has grown, so T ascends strictly; sealing or closing the
 * segment adds a last entry for its final largest timestamp, so the last entry's T is the
 * segment's max timestamp.
 *
 * To find the first record with timestamp >= X, take the last entry with T < X: nothing
 * up to its batch qualifies, so the scan starts at batch O (see LogSegment.offsetForTimestamp).
 *
 * Offsets are relative to the segment's base offset, as in the offset index. Kept in
 * memory, written when the segment is sealed or closed, trusted on the same terms as the
 * offset index.
 */
/*
 * TimeIndex file =>
 *   entries:[Entry]            entry count = file size / 12; ascending in both fields
 *   Entry =>
 *     timestamp:int64          largest record timestamp up to and including the batch
 *     relativeOffset:uint32    base offset of that batch minus the segment's base offset
 */
export const TIME_INDEX_ENTRY_SIZE = 12;

export class TimeIndex extends SparseIndex {
  constructor(path: string, baseOffset: number) {
    super(path, baseOffset, TIME_INDEX_ENTRY_SIZE);
  }

  /** Timestamp of the last entry, or -Infinity when empty. */
  get lastTimestamp(): number {
    return this.count === 0 ? Number.NEGATIVE_INFINITY : this.timestampAt(this.count - 1);
  }

  timestampAt(i: number): number {
    return readInt64(this.entries, i * TIME_INDEX_ENTRY_SIZE);
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.entries.readUInt32BE(i * TIME_INDEX_ENTRY_SIZE + 8);
  }

  /**
   * Adds (timestamp, offset) when the timestamp is larger than the last entry's; when only
   * the offset moved on, the last entry is kept (it stays true). Returns whether it added.
   */
  maybeAppend(timestamp: number, offset: number): boolean {
    if (timestamp <= this.lastTimestamp) return false;
    if (this.count > 0 && offset < this.lastOffset) {
      throw new RangeError(
        `time index ${this.path}: entry (${timestamp}, ${offset}) goes back before offset ${this.lastOffset}`,
      );
    }
    const at = this.nextEntryAt();
    writeInt64(this.entries, timestamp, at);
    this.entries.writeUInt32BE(offset - this.baseOffset, at + 8);
    this.count++;
    return true;
  }

  /**
   * The offset to start scanning from for the first record with timestamp >= `timestamp`:
   * the batch of the last entry whose timestamp is smaller, else the segment's base offset.
   */
  lookup(timestamp: number): number {
    const found = this.lastIndexWhere((i) => this.timestampAt(i) < timestamp);
    return found < 0 ? this.baseOffset : this.offsetAt(found);
  }

  /** Drops every entry whose offset is >= `offset` (the log was truncated there). */
  truncateToOffset(offset: number): void {
    this.truncateWhile((i) => this.offsetAt(i) >= offset);
  }

  /**
   * Loads the file, or returns false when it is missing or fails the sanity check (size,
   * order, an offset at or past `nextOffset`): the caller rebuilds it.
   */
  load(nextOffset: number): boolean {
    return this.loadEntries((data, n) => {
      let prevTs = Number.NEGATIVE_INFINITY;
      let prevRel = -1;
      for (let i = 0; i < n; i++) {
        const ts = readInt64(data, i * TIME_INDEX_ENTRY_SIZE);
        const rel = data.readUInt32BE(i * TIME_INDEX_ENTRY_SIZE + 8);
        if (ts <= prevTs || rel < prevRel || this.baseOffset + rel >= nextOffset) return false;
        prevTs = ts;
        prevRel = rel;
      }
      return true;
    });
  }
}
