import { controlTypeOf } from "../control-batch.js";
import type { RecordBatch } from "../record-batch.js";

/**
 * Which fetched batches a consumer hands on, as Kafka's fetcher decides: a control batch
 * (a transaction marker) never; under read_committed, not a transactional batch of an
 * aborted transaction either. The fetch names the aborted transactions overlapping the
 * range (producer id, first offset); walking the batches in offset order, a producer
 * counts as aborted from its first offset until its ABORT marker, so the same producer's
 * committed transactions before and after are kept.
 */
export class AbortedTransactionFilter {
  /** Ascending by first offset; consumed from the front. */
  private readonly pending: { producerId: number; firstOffset: number }[];
  private readonly aborting = new Set<number>();

  constructor(
    private readonly readCommitted: boolean,
    aborted: readonly { producerId: number; firstOffset: number }[] = [],
  ) {
    this.pending = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** True when the batch must not reach the application. Call for every batch in order. */
  skip(batch: RecordBatch): boolean {
    if (!this.readCommitted || batch.producerId < 0) return batch.isControl;
    while (this.pending.length > 0 && this.pending[0]!.firstOffset <= batch.lastOffset) {
      this.aborting.add(this.pending.shift()!.producerId);
    }
    if (batch.isControl) {
      if (this.aborting.has(batch.producerId) && controlTypeOf(batch) === "ABORT") {
        this.aborting.delete(batch.producerId);
      }
      return true;
    }
    return batch.isTransactional && this.aborting.has(batch.producerId);
  }
}
