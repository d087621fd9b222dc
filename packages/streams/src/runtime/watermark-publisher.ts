import type { RecordCollector } from "./record-collector.js";
import { watermarkRecord } from "./watermark-record.js";

/** A task re-sends an unchanged watermark this often, so a reader that lost track (its
 * committed vector did not fit the offset metadata) is told again. */
const REPUBLISH_MS = 10_000;

/**
 * What one task tells the internal topics it writes about its event time: a watermark
 * record to every partition of each, at a commit, when the watermark or its idleness
 * changed since the last one (or REPUBLISH_MS passed). Sent through the task's collector,
 * so on each partition it stands after every record the task emitted before it.
 */
export class WatermarkPublisher {
  private time = Number.NaN;
  private idle = false;
  private at = 0;

  constructor(
    private readonly subtopology: number,
    private readonly partition: number,
    private readonly topics: readonly { topic: string; partitions: number }[],
  ) {}

  /** Sends the watermark if it is news; returns how many records it sent. */
  publish(collector: RecordCollector, time: number, idle: boolean, now: number): number {
    if (time === this.time && idle === this.idle && now - this.at < REPUBLISH_MS) return 0;
    this.time = time;
    this.idle = idle;
    this.at = now;
    const w = { subtopology: this.subtopology, partition: this.partition, time, idle };
    let n = 0;
    for (const { topic, partitions } of this.topics) {
      for (let p = 0; p < partitions; p++) {
        collector.send(topic, watermarkRecord(w, p));
        n++;
      }
    }
    return n;
  }
}
