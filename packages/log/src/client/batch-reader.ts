import type { RecordBatch } from "../record-batch.js";
import type { LogRecord } from "../record.js";
import type { IsolationLevel } from "./isolation-level.js";

/** What `LogClient.batchReader` reads: one partition, by hand (no group). */
export interface BatchReaderOptions {
  topic: string;
  partition: number;
  /** As the consumer's: read_committed leaves out aborted transactions and stops at the LSO. */
  isolation?: IsolationLevel;
  /** Upper bound on the bytes one read returns (at least one whole batch is returned). */
  maxBytes: number;
  clientId?: string;
}

/** One read of a partition's fetched bytes, not decoded. */
export interface FetchedBatches {
  /**
   * In offset order: CRC-checked batches holding application records only (transaction
   * markers, and under read_committed aborted transactions, are left out), or records the
   * client decoded itself (a compressed batch from another producer). The first batch may
   * begin before the offset read from: its records below that offset are not wanted.
   */
  batches: (RecordBatch | readonly LogRecord[])[];
  /** Where the next read starts: past every batch returned or skipped. */
  next: number;
}

/**
 * A stateless reader of one partition's record batches, for reads that want the bytes
 * rather than records: a store's restore copies keys and values straight from them. The
 * caller keeps the position, so it can send the read of the next chunk before it decodes
 * this one. The batches follow the consumer's rules (CRC, markers, read_committed), only
 * their records are left undecoded.
 */
export interface BatchReader {
  /** Reads from `offset`, waiting up to `maxWaitMs` for data. */
  read(offset: number, maxWaitMs: number): Promise<FetchedBatches>;
  close(): Promise<void>;
}
