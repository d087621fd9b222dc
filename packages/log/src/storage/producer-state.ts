import fs from "node:fs";
import path from "node:path";
import { crc32c } from "@node-rs/crc32";
import {
  CorruptRecordError,
  InvalidArgumentError,
  OutOfOrderSequenceError,
  ProducerFencedError,
} from "../errors.js";
import { type ControlType, controlTypeOf } from "../control-batch.js";
import { CONTROL_FLAG, RecordBatch, splitBatches } from "../record-batch.js";
import { writeFileDurably } from "./durable-file.js";
import { TransactionIndex } from "./transaction-index.js";

/** Kafka keeps the last five batches of each producer, as many as it may have in flight. */
export const PRODUCER_BATCHES_KEPT = 5;
/** Kafka's producer.id.expiration.ms default: a producer silent for a day is forgotten. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 24 * 60 * 60 * 1000;
const SNAPSHOT_FILE = "producer.snapshot";
const SEQUENCE_WRAP = 2 ** 31;

/** One appended batch of an idempotent producer: its sequence range and where it went. */
export interface ProducedBatch {
  firstSequence: number;
  lastSequence: number;
  baseOffset: number;
  lastOffset: number;
}

interface ProducerEntry {
  epoch: number;
  /** Oldest first, at most PRODUCER_BATCHES_KEPT. */
  batches: ProducedBatch[];
  /** Clock time of the last append, for expiry. */
  lastAppendAt: number;
}

/** The sequence number after `seq`: sequences wrap at 2^31 to 0, as Kafka's. */
function nextSequence(seq: number): number {
  return seq + 1 === SEQUENCE_WRAP ? 0 : seq + 1;
}

/** The last sequence of a batch starting at `first` with `count` records. */
export function lastSequenceOf(first: number, count: number): number {
  return (first + count - 1) % SEQUENCE_WRAP;
}

/**
 * What a partition knows about its idempotent producers (Kafka's ProducerStateManager):
 * per producer id the current epoch and the last five batches (sequence range and
 * offsets). Responsible for:
 * - deciding, before an append, whether a batch is new (the next sequence), a retry of one
 *   already appended (same sequence range: its original offsets are returned and nothing
 *   is written), out of order (a gap: OutOfOrderSequenceError) or from a fenced epoch
 *   (ProducerFencedError);
 * - the snapshot file, `producer.snapshot` (format below and in docs/formats.md), written
 *   at checkpoints and clean close; on open the partition loads it and replays the batches
 *   after its offset (`replay`), so a broker killed at any point keeps deduplicating;
 * - expiry: a producer with no append for `expirationMs` is forgotten (its next batch
 *   starts afresh, whatever its sequence), unless it has a transaction open here;
 * - transactions (transaction-index.ts): a transactional batch opens its producer's
 *   transaction at its offset, a marker (control-batch.ts) ends it, and an ABORT marker
 *   adds it to the aborted index. A marker carries the coordinator's epoch for the
 *   producer, so it also fences every older epoch here.
 *
 * Not thread-safe; the partition log calls it from its synchronous append path.
 *
 *   producer.snapshot (text, replaced atomically via writeFileDurably) =>
 *     "tributary-producer-snapshot 2" LF   (version 1: no open/aborted lines)
 *     "end-offset " decimal LF        the state covers every batch below this offset
 *     ["producer " id " " epoch " " lastAppendAt (" " firstSeq ":" lastSeq ":" baseOffset
 *       ":" lastOffset){0..5} LF]
 *     ["open " producerId " " firstOffset LF]               open transactions
 *     ["aborted " producerId " " firstOffset " " markerOffset LF]   aborted index
 *     "crc32c " decimal LF            CRC-32C of every byte before this line
 */
/** An idempotent producer's batch about to be appended (ProducerState.checkAppend). */
export interface IdempotentAppend {
  producerId: number;
  epoch: number;
  firstSequence: number;
  count: number;
  /** The earlier append this batch repeats (a retry), or null when it is new. */
  duplicate: ProducedBatch | null;
  /** A batch of a transaction (isTransactional). */
  transactional: boolean;
}

export class ProducerState {
  private readonly producers = new Map<number, ProducerEntry>();
  /** Open and aborted transactions (the LSO and the aborted index). */
  readonly transactions = new TransactionIndex();

  constructor(
    private readonly name: string,
    private readonly expirationMs: number = DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  ) {}

  get producerCount(): number {
    return this.producers.size;
  }

  /**
   * Checks the batch `batch` of producer `producerId` before it is appended: returns the
   * batch it repeats (a retry: do not append it again), or null when it is the next one.
   * Throws ProducerFencedError for an epoch older than the producer's, and
   * OutOfOrderSequenceError for a sequence that skips or goes back.
   */
  check(
    producerId: number,
    epoch: number,
    firstSequence: number,
    count: number,
    now: number,
  ): ProducedBatch | null {
    if (firstSequence < 0) {
      throw new InvalidArgumentError(
        `batch for ${this.name} names producer ${producerId} but no base sequence (${firstSequence}): an idempotent batch needs both`,
      );
    }
    const entry = this.live(producerId, now);
    if (entry === undefined) return null;
    if (epoch < entry.epoch) {
      throw new ProducerFencedError(
        `producer ${producerId} with epoch ${epoch} is fenced on ${this.name}: a newer instance has epoch ${entry.epoch}; close this producer`,
      );
    }
    if (epoch > entry.epoch) {
      if (firstSequence === 0) return null;
      throw new OutOfOrderSequenceError(
        `producer ${producerId} starts epoch ${epoch} on ${this.name} at sequence ${firstSequence}, expected 0`,
      );
    }
    const lastSequence = lastSequenceOf(firstSequence, count);
    for (const b of entry.batches) {
      if (b.firstSequence === firstSequence && b.lastSequence === lastSequence) return b;
    }
    const last = entry.batches.at(-1);
    const expected = last === undefined ? firstSequence : nextSequence(last.lastSequence);
    if (firstSequence !== expected) {
      throw new OutOfOrderSequenceError(
        `producer ${producerId} sent sequence ${firstSequence} to ${this.name}, expected ${expected}: ${firstSequence > expected || firstSequence < expected - SEQUENCE_WRAP / 2 ? "a batch before it is missing (still in flight, or lost)" : "it is older than the last five batches kept"}`,
      );
    }
    return null;
  }

  /**
   * For a batch of an idempotent producer (producerId >= 0; such a batch comes alone, as
   * in Kafka): its producer fields, and the earlier append it repeats, if any (`check`).
   * Null for other batches.
   */
  checkAppend(buf: Buffer, now: number): IdempotentAppend | null {
    const batch = new RecordBatch(buf, 0);
    const producerId = batch.producerId;
    if (producerId < 0) {
      if (batch.isTransactional) {
        throw new InvalidArgumentError(
          `append to ${this.name}: a transactional batch needs a producer id (from initTransactions)`,
        );
      }
      return null;
    }
    if (batch.sizeInBytes !== buf.length) {
      throw new InvalidArgumentError(
        `append to ${this.name}: a batch of idempotent producer ${producerId} must be sent alone, not with other batches in one append`,
      );
    }
    const epoch = batch.producerEpoch;
    const firstSequence = batch.baseSequence;
    const count = batch.recordCount;
    const duplicate = this.check(producerId, epoch, firstSequence, count, now);
    return {
      producerId,
      epoch,
      firstSequence,
      count,
      duplicate,
      transactional: batch.isTransactional,
    };
  }

  /** Records the append `checkAppend` found new, at the offsets the log gave it. */
  recordAppend(a: IdempotentAppend, baseOffset: number, lastOffset: number, now: number): void {
    const lastSequence = lastSequenceOf(a.firstSequence, a.count);
    this.record(
      a.producerId,
      a.epoch,
      { firstSequence: a.firstSequence, lastSequence, baseOffset, lastOffset },
      now,
    );
    if (a.transactional) this.transactions.onTransactionalBatch(a.producerId, baseOffset);
  }

  /**
   * Before a transaction marker of `producerId` at `epoch` is appended: the coordinator
   * holds the newest epoch, so an older one means a coordinator bug or a stale request.
   */
  checkMarker(producerId: number, epoch: number, now: number): void {
    const entry = this.live(producerId, now);
    if (entry !== undefined && epoch < entry.epoch) {
      throw new ProducerFencedError(
        `transaction marker of producer ${producerId} with epoch ${epoch} refused on ${this.name}: the producer is at epoch ${entry.epoch}`,
      );
    }
  }

  /**
   * Records a marker appended at `offset`: the producer's transaction here ends, and its
   * epoch becomes the marker's (a bumped epoch fences the old instance's sends).
   */
  recordMarker(
    producerId: number,
    epoch: number,
    type: ControlType,
    offset: number,
    now: number,
  ): void {
    const entry = this.producers.get(producerId);
    if (entry === undefined || epoch > entry.epoch) {
      this.producers.set(producerId, { epoch, batches: [], lastAppendAt: now });
    } else entry.lastAppendAt = Math.max(entry.lastAppendAt, now);
    this.transactions.onMarker(producerId, type, offset);
  }

  /** Records an appended batch (after `check` said it was new, or when replaying the log). */
  record(producerId: number, epoch: number, batch: ProducedBatch, now: number): void {
    let entry = this.producers.get(producerId);
    if (entry === undefined || epoch !== entry.epoch) {
      entry = { epoch, batches: [], lastAppendAt: now };
      this.producers.set(producerId, entry);
    }
    entry.batches.push(batch);
    if (entry.batches.length > PRODUCER_BATCHES_KEPT) entry.batches.shift();
    entry.lastAppendAt = Math.max(entry.lastAppendAt, now);
  }

  /** Replays a batch read from the log (open, recovery): records it if it has a producer. */
  replay(batch: RecordBatch, now: number): void {
    const producerId = batch.producerId;
    if (producerId < 0) return;
    if ((batch.attributes & CONTROL_FLAG) !== 0) {
      this.recordMarker(
        producerId,
        batch.producerEpoch,
        controlTypeOf(batch),
        batch.baseOffset,
        now,
      );
      return;
    }
    if (batch.baseSequence < 0) return;
    this.record(
      producerId,
      batch.producerEpoch,
      {
        firstSequence: batch.baseSequence,
        lastSequence: lastSequenceOf(batch.baseSequence, batch.lastOffsetDelta + 1),
        baseOffset: batch.baseOffset,
        lastOffset: batch.lastOffset,
      },
      now,
    );
    if (batch.isTransactional) this.transactions.onTransactionalBatch(producerId, batch.baseOffset);
  }

  /** Forgets producers with no append for `expirationMs`; returns how many. */
  expire(now: number): number {
    let n = 0;
    for (const [id, entry] of this.producers) {
      if (now - entry.lastAppendAt >= this.expirationMs && !this.transactions.hasOpen(id)) {
        this.producers.delete(id);
        n++;
      }
    }
    return n;
  }

  private live(producerId: number, now: number): ProducerEntry | undefined {
    const entry = this.producers.get(producerId);
    if (
      entry !== undefined &&
      now - entry.lastAppendAt >= this.expirationMs &&
      !this.transactions.hasOpen(producerId)
    ) {
      this.producers.delete(producerId);
      return undefined;
    }
    return entry;
  }

  /** Writes the snapshot of the state as of `endOffset` into partition directory `dir`. */
  writeSnapshot(dir: string, endOffset: number, now: number): void {
    this.expire(now);
    let body = `tributary-producer-snapshot 2\nend-offset ${endOffset}\n`;
    for (const [id, e] of this.producers) {
      const batches = e.batches
        .map((b) => `${b.firstSequence}:${b.lastSequence}:${b.baseOffset}:${b.lastOffset}`)
        .join(" ");
      body += `producer ${id} ${e.epoch} ${e.lastAppendAt} ${batches}\n`;
    }
    body += this.transactions.snapshotLines();
    writeFileDurably(
      path.join(dir, SNAPSHOT_FILE),
      `${body}crc32c ${crc32c(Buffer.from(body))}\n`,
      0o644,
    );
  }

  /**
   * Loads the snapshot of partition directory `dir`; returns the offset it covers up to,
   * or null when there is none or it is unreadable (then the whole log is replayed).
   */
  loadSnapshot(dir: string): { endOffset: number } | { problem: string } | null {
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, SNAPSHOT_FILE), "latin1");
    } catch {
      return null;
    }
    const crcAt = text.lastIndexOf("crc32c ");
    const body = crcAt < 0 ? "" : text.slice(0, crcAt);
    const lines = body.split("\n");
    const end = /^end-offset (\d+)$/.exec(lines[1] ?? "");
    if (
      (lines[0] !== "tributary-producer-snapshot 1" &&
        lines[0] !== "tributary-producer-snapshot 2") ||
      end === null ||
      text.slice(crcAt) !== `crc32c ${crc32c(Buffer.from(body, "latin1"))}\n`
    ) {
      return { problem: `${SNAPSHOT_FILE} of ${this.name} fails its format or CRC check` };
    }
    this.producers.clear();
    this.transactions.clear();
    for (const line of lines.slice(2)) {
      if (line === "" || this.transactions.loadLine(line)) continue;
      const [, id, epoch, at, ...batches] = line.split(" ");
      const entry: ProducerEntry = { epoch: Number(epoch), batches: [], lastAppendAt: Number(at) };
      for (const b of batches) {
        if (b === "") continue; // a producer known only from a marker has no batches
        const [firstSequence, lastSequence, baseOffset, lastOffset] = b.split(":").map(Number);
        entry.batches.push({
          firstSequence: firstSequence!,
          lastSequence: lastSequence!,
          baseOffset: baseOffset!,
          lastOffset: lastOffset!,
        });
      }
      this.producers.set(Number(id), entry);
    }
    return { endOffset: Number(end[1]) };
  }

  /**
   * Restores the state on open: the snapshot, then every batch after it, read with
   * `read(offset)` (whole batches from `offset`, empty at the end) up to `endOffset`. A
   * snapshot past the log's end (the log lost its unflushed tail in a machine crash) or
   * unreadable is dropped and the log replayed from `startOffset`, so a retry of a batch
   * that was lost is appended again rather than called a duplicate. Returns the number of
   * batches replayed.
   */
  restore(
    dir: string,
    read: (offset: number) => Buffer,
    startOffset: number,
    endOffset: number,
    now: number,
  ): number {
    const loaded = this.loadSnapshot(dir);
    // No snapshot (a data dir of a version without idempotence, or the file deleted):
    // the whole log is replayed, which rebuilds the producers and the transactions from
    // their batches and markers. It happens once: the open writes a snapshot.
    let offset = startOffset;
    if (loaded !== null && "endOffset" in loaded && loaded.endOffset <= endOffset) {
      offset = Math.max(loaded.endOffset, startOffset);
      // A snapshot written before retention moved the log start (a crash between deleting
      // segments and writing the snapshot) still lists aborted transactions below it.
      this.transactions.prune(startOffset);
    } else {
      this.producers.clear();
      this.transactions.clear();
    }
    let replayed = 0;
    while (offset < endOffset) {
      let chunk: Buffer;
      try {
        chunk = read(offset);
      } catch (err) {
        // Damage the partition already reports: go on after it when its end is known.
        const resumeAt = err instanceof CorruptRecordError ? err.location.resumeAt : undefined;
        if (resumeAt === undefined || resumeAt <= offset) break;
        offset = resumeAt;
        continue;
      }
      const { batches } = splitBatches(chunk);
      if (batches.length === 0) break;
      for (const batch of batches) {
        if (batch.nextOffset <= offset) continue;
        this.replay(batch, now);
        replayed++;
        offset = batch.nextOffset;
      }
    }
    return replayed;
  }
}
