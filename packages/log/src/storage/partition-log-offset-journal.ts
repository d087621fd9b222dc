import type { Logger } from "pino";
import { CorruptRecordError } from "../errors.js";
import type { PartitionLog } from "./partition-log.js";
import type { LogRecord, ProducerRecord } from "../record.js";
import { encodeBatch, splitBatches } from "../record-batch.js";
import { storageLogger } from "./storage-logger.js";

const READ_CHUNK = 4 * 1024 * 1024;

/**
 * The group coordinator's committed offsets, kept in a real partition of the compacted
 * `__consumer_offsets` topic: a commit is one appended batch (acknowledged per that
 * topic's flush policy, "always"), and a restart reads the partition back.
 *
 * A corrupt range in the partition (see corrupt-range.ts) loses only the commits stored
 * in it: the replay logs it and goes on after it, so every other group keeps its commits
 * (and a group whose newest commit was damaged falls back to its previous one).
 */
export class PartitionLogOffsetJournal {
  private readonly logger: Logger;

  constructor(
    private readonly log: PartitionLog,
    logger?: Logger,
  ) {
    this.logger = storageLogger(logger);
  }

  async append(records: ProducerRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.log.append(encodeBatch(records));
  }

  readAll(): LogRecord[] {
    const out: LogRecord[] = [];
    let offset = this.log.logStartOffset;
    const end = this.log.highWatermark;
    while (offset < end) {
      let records: Buffer;
      try {
        records = this.log.read(offset, READ_CHUNK).records;
      } catch (err) {
        const resume = err instanceof CorruptRecordError ? err.location.resumeAt : undefined;
        if (resume === undefined || resume <= offset) throw err;
        this.logger.error(
          { event: "offsets-skipped", fromOffset: offset, toOffset: resume, err },
          `committed offsets at ${this.log.topic}-${this.log.partition} offsets ${offset} to ${resume - 1} are unreadable and were skipped (groups fall back to their previous commit there): ${(err as Error).message}`,
        );
        offset = resume;
        continue;
      }
      const { batches } = splitBatches(records);
      if (batches.length === 0) break;
      for (const batch of batches) {
        if (batch.nextOffset <= offset) continue;
        batch.verify(`${this.log.topic}-${this.log.partition}`);
        for (const r of batch.records()) if (r.offset >= offset) out.push(r);
        offset = batch.nextOffset;
      }
    }
    return out;
  }
}
