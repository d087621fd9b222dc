import type { ProduceResult, ProducerRecord, StickyPartitioner } from "@tributary/log";
import type { EncodedBatch } from "./encoded-batches.js";
import type { TopicInfo } from "./kafka-cluster.js";
import type { AckedBatch, PartitionAcks } from "./record-batch-sender.js";
import { recordsByPartition } from "./records-by-partition.js";

/** A producer's send waiting for a round (KafkaProducer merges the sends queued meanwhile). */
export interface QueuedSend {
  topic: string;
  records: readonly ProducerRecord[];
  /** A sendEncoded's batches (its `records` then empty): encoded-batches.ts merges them. */
  batches?: readonly EncodedBatch[];
  resolve(acks: ProduceResult[]): void;
  reject(err: unknown): void;
  /** Per partition, where this send's records start in the round's records, and how many. */
  slices?: Map<number, { start: number; count: number }>;
}

/**
 * Partitions each of one topic's queued sends and appends its records, per partition, after
 * those of the sends before it, so a partition's batch holds them in call order. A send
 * whose records cannot be partitioned (a partition out of range) goes to `fail` and is left
 * out; the rest are returned with their records by partition.
 */
export function mergeTopicSends(
  info: TopicInfo,
  sends: readonly QueuedSend[],
  sticky: StickyPartitioner,
  fail: (send: QueuedSend, err: unknown) => void,
): { sends: QueuedSend[]; byPartition: Map<number, ProducerRecord[]> } {
  const live: QueuedSend[] = [];
  let merged: Map<number, ProducerRecord[]> | undefined;
  for (const s of sends) {
    let parts: Map<number, ProducerRecord[]>;
    try {
      parts = recordsByPartition(s.topic, info, s.records, sticky);
    } catch (err) {
      fail(s, err);
      continue;
    }
    live.push(s);
    s.slices = new Map();
    if (merged === undefined) {
      // recordsByPartition's arrays are new: later sends' records are appended to them
      merged = parts;
      for (const [p, records] of parts) s.slices.set(p, { start: 0, count: records.length });
      continue;
    }
    for (const [p, records] of parts) {
      let list = merged.get(p);
      if (list === undefined) {
        list = [];
        merged.set(p, list);
      }
      s.slices.set(p, { start: list.length, count: records.length });
      for (const r of records) list.push(r);
    }
  }
  return { sends: live, byPartition: merged ?? new Map() };
}

/** Resolves each merged send with the offsets its own records got. */
export function settleMerged(
  topic: string,
  sends: readonly QueuedSend[],
  acks: PartitionAcks,
): void {
  for (const s of sends) {
    const results: ProduceResult[] = [];
    for (const [partition, { start, count }] of s.slices!) {
      const batches = acks.get(partition)!;
      results.push({
        topic,
        partition,
        baseOffset: offsetAt(batches, start),
        lastOffset: offsetAt(batches, start + count - 1),
      });
    }
    s.resolve(results.sort((a, b) => a.partition - b.partition));
  }
}

/** The offset of the partition's `index`th record of the round, through its batches. */
function offsetAt(batches: readonly AckedBatch[], index: number): number {
  let i = index;
  for (const b of batches) {
    if (i < b.count) return b.baseOffset + i;
    i -= b.count;
  }
  throw new Error(`record ${index} of the round is past its acknowledged batches`);
}
