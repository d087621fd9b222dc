import { ClosedError, TributaryError } from "../errors.js";
import { splitBatches } from "../record-batch.js";
import { AbortedTransactionFilter } from "./aborted-transaction-filter.js";
import type { BatchReader, BatchReaderOptions, FetchedBatches } from "./batch-reader.js";
import { checkIsolation, type IsolationLevel } from "./isolation-level.js";
import type { LogService } from "./log-service.js";

/**
 * The BatchReader over a LogService (the embedded log, the broker): one fetch per read,
 * the batches filtered as the consumer filters them (fetched-records.ts) but handed on
 * undecoded.
 */
export class ServiceBatchReader implements BatchReader {
  private readonly isolation: IsolationLevel;
  private closed = false;

  constructor(
    private readonly service: LogService,
    private readonly options: BatchReaderOptions,
  ) {
    this.isolation = checkIsolation(options.isolation ?? "read_uncommitted");
  }

  async read(offset: number, maxWaitMs: number): Promise<FetchedBatches> {
    if (this.closed) throw new ClosedError("batch reader");
    const { topic, partition, maxBytes } = this.options;
    const [response] = await this.service.fetch([{ topic, partition, offset, maxBytes }], {
      maxWaitMs,
      minBytes: 1,
      maxBytes,
      isolation: this.isolation,
    });
    if (response === undefined) return { batches: [], next: offset };
    if (response.error !== undefined) {
      throw new TributaryError(response.error.code as never, response.error.message);
    }
    const verified = this.service.verifiedReads === true;
    const where = `${topic}-${partition}`;
    const filter = new AbortedTransactionFilter(
      this.isolation === "read_committed",
      response.abortedTransactions,
    );
    const batches: FetchedBatches["batches"] = [];
    let next = offset;
    for (const batch of splitBatches(response.records).batches) {
      if (batch.nextOffset <= offset) continue;
      if (!verified) batch.verify(where);
      if (!filter.skip(batch)) batches.push(batch);
      next = batch.nextOffset;
    }
    return { batches, next };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
