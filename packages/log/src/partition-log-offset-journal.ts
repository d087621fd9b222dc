import type { PartitionLog } from "./partition-log.js";
import type { LogRecord, ProducerRecord } from "./record.js";
import { encodeBatch, splitBatches } from "./record-batch.js";

const READ_CHUNK = 4 * 1024 * 1024;

/**
 * The group coordinator's committed offsets, kept in a real partition of the compacted
 * `__consumer_offsets` topic: a commit is one appended batch (acknowledged per that
 * topic's flush policy, "always"), and a restart reads the partition back.
 */
export class PartitionLogOffsetJournal {
  constructor(private readonly log: PartitionLog) {}

  async append(records: ProducerRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.log.append(encodeBatch(records));
  }

  readAll(): LogRecord[] {
    const out: LogRecord[] = [];
    let offset = this.log.logStartOffset;
    const end = this.log.highWatermark;
    while (offset < end) {
      const { records } = this.log.read(offset, READ_CHUNK);
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
