import { type LogRecord, type TopicPartition, topicPartitionKey } from "@tributary/log";
import type { SourceSpec } from "../topology/node-spec.js";

/** A stretch of one partition's records, in offset order, that a task processes in one go. */
export interface SourceRun {
  readonly topic: string;
  readonly partition: number;
  readonly records: LogRecord[];
}

/**
 * Records behind the partition's log end (end offset at the last fetch or lookup, minus the
 * consumer's fetch position); undefined when not known yet.
 */
export type LagOf = (tp: TopicPartition) => number | undefined;

/** The time a record is ordered by: its timestamp, or what the source's extractor says. */
export type RecordTime = (record: LogRecord, partitionTime: number) => number;

export interface PartitionGroupOptions {
  /**
   * Kafka's max.task.idle.ms: how long a task waits for an input partition that has
   * nothing buffered and is caught up (its fetch position is at its log end) before it
   * processes the others without it. 0 (the default): it does not wait beyond "caught
   * up". Negative: never wait, not even for a partition known to hold more records.
   */
  maxTaskIdleMs: number;
  /** Buffered bytes (keys and values) above which a partition should be paused. */
  maxQueuedBytes: number;
  lagOf: LagOf;
  /**
   * How far (ms of record time) the partition with the oldest head may run past the next
   * partition's head before the group switches to that one. 0 (the default, a task's own
   * inputs): strict time order, as Kafka Streams. The worker-wide scheduler across tasks
   * allows a little, so tasks whose records carry the same times run in long slices
   * instead of alternating every few records.
   */
  slackMs?: number;
}

/**
 * One input partition's fetched records that its task has not processed yet (Kafka's
 * RecordQueue): the records in offset order, as chunks of what each fetch returned, and
 * the time of the head record. Not thread-safe.
 */
class RecordQueue {
  readonly key: string;
  private chunks: LogRecord[][] = [];
  /** Index of the head record in chunks[0]. */
  private pos = 0;
  size = 0;
  bytes = 0;
  /** Time of the head record (NaN when empty). */
  headTime = Number.NaN;
  /** Largest time taken from this partition (Kafka's partition time), -1 before any. */
  partitionTime = -1;
  /** Asked of the consumer: paused since the queue passed maxQueuedBytes. */
  paused = false;
  /** When an empty, caught-up partition stops being waited for (maxTaskIdleMs > 0). */
  idleDeadline: number | undefined;

  constructor(
    readonly tp: TopicPartition,
    private readonly timeOf: RecordTime | null,
  ) {
    this.key = topicPartitionKey(tp.topic, tp.partition);
  }

  add(records: readonly LogRecord[]): void {
    if (records.length === 0) return;
    const wasEmpty = this.size === 0;
    this.chunks.push(records as LogRecord[]);
    this.size += records.length;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      this.bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
    }
    this.idleDeadline = undefined;
    if (wasEmpty) this.updateHead();
  }

  /** Offset of the first record not processed yet, or undefined when empty. */
  firstOffset(): number | undefined {
    return this.size === 0 ? undefined : this.chunks[0]![this.pos]!.offset;
  }

  /**
   * Moves records from the head into `out` while their time is at most `bound` (the head
   * time of the next queue), up to `max` of them; returns how many it moved.
   */
  takeWhile(bound: number, max: number, out: LogRecord[]): number {
    if (this.timeOf === null) return this.takeByTimestamp(bound, max, out);
    let n = 0;
    while (n < max && this.size > 0 && this.headTime <= bound) {
      const chunk = this.chunks[0]!;
      const r = chunk[this.pos]!;
      out.push(r);
      n++;
      this.size--;
      this.bytes -= (r.key?.length ?? 0) + (r.value?.length ?? 0);
      if (this.headTime > this.partitionTime) this.partitionTime = this.headTime;
      if (++this.pos === chunk.length) {
        this.chunks.shift();
        this.pos = 0;
      }
      this.updateHead();
    }
    return n;
  }

  /**
   * takeWhile where a record's time is its timestamp (no extractor): one tight loop per
   * chunk over the records' timestamps, with the queue's fields written once per chunk
   * instead of once per record (this loop runs for every record a worker processes when
   * it orders its tasks by time).
   */
  private takeByTimestamp(bound: number, max: number, out: LogRecord[]): number {
    let n = 0;
    while (n < max && this.size > 0) {
      const chunk = this.chunks[0]!;
      const from = this.pos;
      const stop = Math.min(chunk.length, from + (max - n));
      let partitionTime = this.partitionTime;
      let bytes = 0;
      let i = from;
      for (; i < stop; i++) {
        const r = chunk[i]!;
        const t = r.timestamp;
        if (t > bound) break;
        out.push(r);
        bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
        if (t > partitionTime) partitionTime = t;
      }
      const taken = i - from;
      n += taken;
      this.size -= taken;
      this.bytes -= bytes;
      this.partitionTime = partitionTime;
      if (i === chunk.length) {
        this.chunks.shift();
        this.pos = 0;
      } else this.pos = i;
      if (i < stop || taken === 0) break; // the head is past the bound
    }
    this.updateHead();
    return n;
  }

  clear(): void {
    this.chunks = [];
    this.pos = 0;
    this.size = 0;
    this.bytes = 0;
    this.headTime = Number.NaN;
    this.paused = false;
    this.idleDeadline = undefined;
  }

  private updateHead(): void {
    if (this.size === 0) {
      this.headTime = Number.NaN;
      return;
    }
    const r = this.chunks[0]![this.pos]!;
    if (this.timeOf === null) {
      this.headTime = r.timestamp;
      return;
    }
    // a record whose time cannot be extracted is ordered by its timestamp: the task
    // dead-letters it (or stops) when it gets there
    let t = r.timestamp;
    try {
      t = this.timeOf(r, this.partitionTime);
    } catch {}
    this.headTime = Number.isFinite(t) && t >= 0 ? t : r.timestamp;
  }
}

/**
 * The input partitions of a task that reads several (a join of co-partitioned topics, a
 * merge), as Kafka Streams' PartitionGroup: fetched records wait in one queue per
 * partition, and the task always processes the record with the smallest time among the
 * queues' heads. So when one input's history was written long before the other's (a
 * replay), the first input does not run stream time to its end and make every record of
 * the second late.
 *
 * It hands out records only when every partition has something buffered, or the empty
 * ones are known to be caught up (fetch position at the log end: nothing more to wait
 * for) and have been idle for maxTaskIdleMs (KIP-353, KIP-695). A partition whose lag is
 * not known yet (no fetch nor end-offset lookup answered for it) is waited for:
 * `unknownLag()` names those, so the caller can look their ends up.
 *
 * Offsets: a partition's committable position is its first buffered record, so buffered
 * records are never committed past. Memory: a queue above maxQueuedBytes asks to be paused
 * (`pausesWanted`), and to be resumed once it drains below half. Not thread-safe.
 */
export class PartitionGroup {
  private readonly queues: RecordQueue[];
  private readonly byKey = new Map<string, RecordQueue>();
  private readonly unknown: TopicPartition[] = [];

  constructor(
    partitions: readonly { tp: TopicPartition; timeOf: RecordTime | null }[],
    private readonly options: PartitionGroupOptions,
  ) {
    this.queues = partitions.map((p) => new RecordQueue(p.tp, p.timeOf));
    for (const q of this.queues) this.byKey.set(q.key, q);
  }

  /** Buffers what a fetch returned for one of the group's partitions. */
  add(key: string, records: readonly LogRecord[]): void {
    this.byKey.get(key)?.add(records);
  }

  /** Records buffered in all queues. */
  buffered(): number {
    let n = 0;
    for (const q of this.queues) n += q.size;
    return n;
  }

  /** The offset to commit for a partition: its first buffered record, if any. */
  firstBufferedOffset(key: string): number | undefined {
    return this.byKey.get(key)?.firstOffset();
  }

  /**
   * The next records to process, at most `max`, in time order across the partitions, as
   * runs of consecutive records of one partition; null when none may be processed now
   * (nothing buffered, or an empty partition must be waited for).
   */
  nextBatch(now: number, max: number): SourceRun[] | null {
    this.unknown.length = 0;
    let any = false;
    for (const q of this.queues) {
      if (q.size > 0) any = true;
      else if (!this.emptyReady(q, now)) return null;
    }
    if (!any) return null;
    const slack = this.options.slackMs ?? 0;
    const runs: SourceRun[] = [];
    let n = 0;
    while (n < max) {
      let head: RecordQueue | null = null;
      let bound = Number.POSITIVE_INFINITY;
      for (const q of this.queues) {
        if (q.size === 0) continue;
        if (head === null || q.headTime < head.headTime) {
          if (head !== null) bound = Math.min(bound, head.headTime);
          head = q;
        } else bound = Math.min(bound, q.headTime);
      }
      if (head === null) break;
      const records: LogRecord[] = [];
      n += head.takeWhile(bound + slack, max - n, records);
      const last = runs[runs.length - 1];
      if (last?.topic === head.tp.topic && last.partition === head.tp.partition) {
        for (const r of records) last.records.push(r);
      } else runs.push({ topic: head.tp.topic, partition: head.tp.partition, records });
      // an emptied partition holds the others back unless it is caught up
      if (head.size === 0 && !this.emptyReady(head, now)) break;
    }
    return runs;
  }

  /** Partitions waited for because their lag is not known (ask the log for their ends). */
  unknownLag(): readonly TopicPartition[] {
    return this.unknown;
  }

  /** Partitions to pause (queue above maxQueuedBytes) and to resume (drained below half). */
  pausesWanted(): { pause: TopicPartition[]; resume: TopicPartition[] } {
    const pause: TopicPartition[] = [];
    const resume: TopicPartition[] = [];
    const max = this.options.maxQueuedBytes;
    for (const q of this.queues) {
      if (!q.paused && q.bytes > max) {
        q.paused = true;
        pause.push(q.tp);
      } else if (q.paused && q.bytes <= max / 2) {
        q.paused = false;
        resume.push(q.tp);
      }
    }
    return { pause, resume };
  }

  /**
   * Drops every buffered record (a suspended task: its partitions are fetched again from
   * the committed offsets after the rebalance) and returns the partitions it had paused,
   * for the caller to resume.
   */
  clear(): TopicPartition[] {
    const paused = this.queues.filter((q) => q.paused).map((q) => q.tp);
    for (const q of this.queues) q.clear();
    return paused;
  }

  /** Whether an empty partition may be left behind now (Kafka's readyToProcess). */
  private emptyReady(q: RecordQueue, now: number): boolean {
    const idle = this.options.maxTaskIdleMs;
    if (idle < 0) return true;
    const lag = this.options.lagOf(q.tp);
    if (lag === undefined) {
      this.unknown.push(q.tp);
      q.idleDeadline = undefined;
      return false;
    }
    if (lag > 0) {
      // the records are on the log: wait for the fetch
      q.idleDeadline = undefined;
      return false;
    }
    q.idleDeadline ??= now + idle;
    return now >= q.idleDeadline;
  }
}

/** The time a source's timestamp extractor gives a record (null: its timestamp). */
export function extractedTime(
  spec: SourceSpec,
  topic: string,
  partition: number,
): RecordTime | null {
  const extract = spec.timestampExtractor;
  if (extract === null) return null;
  return (record, partitionTime) => {
    const key = record.key === null ? null : spec.keySerde.deserialize(record.key);
    const value = record.value === null ? null : spec.valueSerde.deserialize(record.value);
    return extract(
      { key, value, timestamp: record.timestamp, topic, partition, offset: record.offset },
      partitionTime,
    );
  };
}
