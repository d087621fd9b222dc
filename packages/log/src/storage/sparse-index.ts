import fs from "node:fs";

const INITIAL_ENTRIES = 64;

/**
 * What the offset index and the time index share (as Kafka's AbstractIndex): a sparse
 * index file of one segment, a run of fixed-size big-endian entries kept in a growable
 * in-memory buffer, each naming an offset relative to the segment's base offset. The
 * subclasses own the entry layout, the ordering rules and the lookups; this class owns
 * the buffer, the entry count, loading, writing and clearing.
 *
 * File => entries:[Entry]; entry count = file size / entrySize. No header, no checksum:
 * a file is only trusted on the terms its subclass states, and rebuilt otherwise.
 *
 * Not safe for concurrent use; the owning LogSegment serialises access.
 */
export abstract class SparseIndex {
  protected entries: Buffer;
  protected count = 0;

  constructor(
    readonly path: string,
    readonly baseOffset: number,
    private readonly entrySize: number,
  ) {
    this.entries = Buffer.allocUnsafe(INITIAL_ENTRIES * entrySize);
  }

  get entryCount(): number {
    return this.count;
  }

  /** Bytes the index occupies in memory and in its file. */
  get sizeInBytes(): number {
    return this.count * this.entrySize;
  }

  /** Offset of the last entry, or the base offset when empty. */
  get lastOffset(): number {
    return this.count === 0 ? this.baseOffset : this.offsetAt(this.count - 1);
  }

  /** Absolute offset of entry `i`. */
  abstract offsetAt(i: number): number;

  clear(): void {
    this.count = 0;
  }

  /** Keeps only the first `n` entries (undoing appends made after the count was `n`). */
  truncateToEntries(n: number): void {
    if (n < this.count) this.count = n;
  }

  /** Writes the entries to the file (replacing it); durability is the caller's fsync. */
  writeFile(): void {
    fs.writeFileSync(this.path, this.entries.subarray(0, this.sizeInBytes));
  }

  /**
   * Room for one more entry: grows the buffer if needed and returns the byte position the
   * caller writes the entry at. The caller then increments `count`.
   */
  protected nextEntryAt(): number {
    if ((this.count + 1) * this.entrySize > this.entries.length) {
      const next = Buffer.allocUnsafe(this.entries.length * 2);
      this.entries.copy(next, 0, 0, this.sizeInBytes);
      this.entries = next;
    }
    return this.count * this.entrySize;
  }

  /**
   * Index of the last entry for which `before(i)` holds, or -1; `before` must hold for a
   * prefix of the entries (true up to some entry, false after it).
   */
  protected lastIndexWhere(before: (i: number) => boolean): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (before(mid)) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Drops entries from the end while `drop(i)` holds for the last one. */
  protected truncateWhile(drop: (i: number) => boolean): void {
    while (this.count > 0 && drop(this.count - 1)) this.count--;
  }

  /**
   * Loads the file, or returns false when it is missing, its size is not a multiple of the
   * entry size, or `valid(data, n)` rejects its `n` entries: the caller then rebuilds it.
   */
  protected loadEntries(valid: (data: Buffer, n: number) => boolean): boolean {
    let data: Buffer;
    try {
      data = fs.readFileSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    if (data.length % this.entrySize !== 0) return false;
    const n = data.length / this.entrySize;
    if (!valid(data, n)) return false;
    const minBytes = INITIAL_ENTRIES * this.entrySize;
    this.entries = data.length >= minBytes ? data : Buffer.concat([data], minBytes);
    this.count = n;
    return true;
  }
}
