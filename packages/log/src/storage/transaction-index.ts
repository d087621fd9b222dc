import type { ControlType } from "../control-batch.js";

/** A transaction that ended with an ABORT marker: its records are skipped by read_committed. */
export interface AbortedTransaction {
  producerId: number;
  /** Offset of the transaction's first batch in this partition. */
  firstOffset: number;
  /** Offset of its ABORT marker. */
  lastOffset: number;
}

/**
 * One partition's transactions, as Kafka's ProducerStateManager (ongoing transactions)
 * and TransactionIndex (`.txnindex`, aborted transactions) keep them:
 * - the open transactions: per producer id, the offset of its first transactional batch
 *   since its last marker. The oldest of them is the last stable offset (LSO): a
 *   read_committed reader stops there, because what comes after may yet be aborted;
 * - the aborted transactions, in marker order: (producer id, first offset, marker offset).
 *   A read_committed fetch returns those overlapping what it read; the consumer drops a
 *   transactional batch of such a producer from the first offset up to its ABORT marker.
 *
 * Durability: both lists are saved in the partition's `producer.snapshot` (as `open` and
 * `aborted` lines, see ProducerState) and what follows the snapshot is replayed from the
 * log on open, so they survive SIGKILL and recovery; a lost or damaged snapshot makes the
 * open replay the whole log and rebuild them from the markers.
 *
 * Pruning: an aborted entry whose marker is below the log start offset describes records
 * no reader can fetch any more, and is dropped when retention moves the log start (and on
 * open, from a snapshot written before it moved); the snapshot written with the next
 * checkpoint no longer holds it. Retention never moves the log start past an open
 * transaction's first offset (see PartitionRetention), so open entries never need it. On
 * a compacted topic the entries stay: the cleaner keeps aborted transactions' batches and
 * their markers whole (log-cleaner.ts), and read_committed readers of those batches need
 * the entry to skip them. (Kafka drops aborted batches while cleaning, and so can drop the
 * entries; Tributary trades that index space for a cleaner that never decides a
 * transaction's fate.)
 */
export class TransactionIndex {
  private readonly open = new Map<number, number>();
  /** Ascending by lastOffset (markers are appended in offset order). */
  private aborted: AbortedTransaction[] = [];

  get openCount(): number {
    return this.open.size;
  }

  get abortedCount(): number {
    return this.aborted.length;
  }

  hasOpen(producerId: number): boolean {
    return this.open.has(producerId);
  }

  /** A transactional batch of `producerId` was appended at `baseOffset`. */
  onTransactionalBatch(producerId: number, baseOffset: number): void {
    if (!this.open.has(producerId)) this.open.set(producerId, baseOffset);
  }

  /**
   * A marker of `producerId` was appended at `offset`: its open transaction (if any) ends.
   * A marker for a producer with none open (a coordinator writing it again after a crash,
   * or to a partition the transaction never wrote) changes nothing.
   */
  onMarker(producerId: number, type: ControlType, offset: number): void {
    const first = this.open.get(producerId);
    if (first === undefined) return;
    this.open.delete(producerId);
    if (type === "ABORT") this.aborted.push({ producerId, firstOffset: first, lastOffset: offset });
  }

  /** The first offset no read_committed reader may pass: the oldest open transaction, else `highWatermark`. */
  lastStableOffset(highWatermark: number): number {
    let lso = highWatermark;
    for (const first of this.open.values()) if (first < lso) lso = first;
    return lso;
  }

  /** Aborted transactions with records in [from, to): what a read_committed fetch of that range needs. */
  abortedIn(from: number, to: number): AbortedTransaction[] {
    let lo = 0;
    let hi = this.aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.aborted[mid]!.lastOffset < from) lo = mid + 1;
      else hi = mid;
    }
    const out: AbortedTransaction[] = [];
    for (let i = lo; i < this.aborted.length; i++) {
      const a = this.aborted[i]!;
      if (a.firstOffset < to) out.push({ ...a });
    }
    return out;
  }

  /** Whether the batch of `producerId` at `offset` is in one of its aborted transactions. */
  isAborted(producerId: number, offset: number): boolean {
    let lo = 0;
    let hi = this.aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.aborted[mid]!.lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    // A producer's transactions do not overlap: its first entry ending at or after
    // `offset` is the only one that can hold it.
    for (let i = lo; i < this.aborted.length; i++) {
      const a = this.aborted[i]!;
      if (a.producerId === producerId) return a.firstOffset <= offset;
    }
    return false;
  }

  /** Forgets aborted transactions whose marker is below `logStartOffset` (deleted by retention). */
  prune(logStartOffset: number): void {
    if (this.aborted.length === 0 || this.aborted[0]!.lastOffset >= logStartOffset) return;
    this.aborted = this.aborted.filter((a) => a.lastOffset >= logStartOffset);
  }

  clear(): void {
    this.open.clear();
    this.aborted = [];
  }

  /** The snapshot lines (see ProducerState's format): `open <pid> <first>`, `aborted <pid> <first> <last>`. */
  snapshotLines(): string {
    let out = "";
    for (const [pid, first] of this.open) out += `open ${pid} ${first}\n`;
    for (const a of this.aborted)
      out += `aborted ${a.producerId} ${a.firstOffset} ${a.lastOffset}\n`;
    return out;
  }

  /** Reads one snapshot line; false when it is not one of this index's. */
  loadLine(line: string): boolean {
    const parts = line.split(" ");
    if (parts[0] === "open" && parts.length === 3) {
      this.open.set(Number(parts[1]), Number(parts[2]));
      return true;
    }
    if (parts[0] === "aborted" && parts.length === 4) {
      this.aborted.push({
        producerId: Number(parts[1]),
        firstOffset: Number(parts[2]),
        lastOffset: Number(parts[3]),
      });
      return true;
    }
    return false;
  }
}
