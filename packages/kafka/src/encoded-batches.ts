import {
  BATCH_HEADER_SIZE,
  InvalidArgumentError,
  MAGIC,
  type ProducerRecord,
  RecordBatch,
  UnknownTopicError,
} from "@tributary/log";
import type { TopicInfo } from "./kafka-cluster.js";
import type { QueuedSend } from "./merged-sends.js";

/** A batch a caller encoded (RecordBatchBuilder) for `sendEncoded`, not yet stamped. */
export interface EncodedBatch {
  partition: number;
  batch: Buffer;
}

/**
 * The largest encoded batch sent as it is: Kafka's default max.request.size (1 MiB), which
 * the broker's default message.max.bytes (1 MiB + 12) takes. The streams collector's
 * batches stay under it; a bigger one (a caller's larger batch, or one record bigger than
 * the collector's cap) is decoded and re-encoded as `send` encodes records, so it goes in
 * batches of the sender's cap, and a single record larger than the topic takes is refused
 * by Kafka exactly as `send`'s would be.
 */
export const MAX_ENCODED_BATCH_BYTES = 1024 * 1024;

/**
 * Checks one batch of a `sendEncoded` call: its partition against the topic's partition
 * count, and that it is a finished RecordBatch v2 (RecordBatchBuilder.finish()) of at
 * least one record whose declared length is its own. Returns its record count.
 */
export function checkEncodedBatch(topic: string, info: TopicInfo, b: EncodedBatch): number {
  const p = b.partition;
  if (!Number.isInteger(p) || p < 0 || p >= info.partitions) throw new UnknownTopicError(topic, p);
  const buf = b.batch;
  const view =
    Buffer.isBuffer(buf) && buf.length >= BATCH_HEADER_SIZE ? new RecordBatch(buf) : null;
  // The attributes are not looked at: finish() leaves them unwritten, for the producer's
  // stamp (RecordBatchBuilder's batches are uncompressed).
  if (
    view === null ||
    view.magic !== MAGIC ||
    view.sizeInBytes !== buf.length ||
    view.recordCount < 1
  ) {
    throw new InvalidArgumentError(
      `sendEncoded to '${topic}' partition ${p}: a batch of ${buf?.length ?? 0} bytes is not one finished RecordBatch v2 with records; encode it with RecordBatchBuilder and pass finish()'s buffer`,
    );
  }
  return view.recordCount;
}

/** The records of an encoded batch too large to send as it is, to be sent as `send`'s are. */
export function recordsOf(batch: Buffer): ProducerRecord[] {
  return new RecordBatch(batch).records();
}

/**
 * merge-sends.ts's mergeTopicSends for sends of encoded batches: appends each send's
 * batches, per partition, after those of the sends before it (call order), and notes where
 * its records lie among the partition's records of the round (`slices`) for settleMerged.
 * A send with a batch that fails its check goes to `fail` and is left out whole.
 */
export function mergeEncodedSends(
  info: TopicInfo,
  sends: readonly QueuedSend[],
  fail: (send: QueuedSend, err: unknown) => void,
): { sends: QueuedSend[]; batches: Map<number, Buffer[]> } {
  const live: QueuedSend[] = [];
  const merged = new Map<number, Buffer[]>();
  /** Per partition, the records of the round so far. */
  const counts = new Map<number, number>();
  for (const s of sends) {
    const own = new Map<number, number>();
    try {
      for (const b of s.batches!) {
        const n = checkEncodedBatch(s.topic, info, b);
        own.set(b.partition, (own.get(b.partition) ?? 0) + n);
      }
    } catch (err) {
      fail(s, err);
      continue;
    }
    live.push(s);
    s.slices = new Map();
    for (const [p, count] of own) {
      const start = counts.get(p) ?? 0;
      s.slices.set(p, { start, count });
      counts.set(p, start + count);
    }
    for (const b of s.batches!) {
      const list = merged.get(b.partition);
      if (list === undefined) merged.set(b.partition, [b.batch]);
      else list.push(b.batch);
    }
  }
  return { sends: live, batches: merged };
}
