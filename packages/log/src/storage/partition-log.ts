import fs from "node:fs";
import type { Logger } from "pino";
import { ClosedError, errnoOf, TributaryError } from "../errors.js";
import {
  hasCleanShutdownMarker,
  openSegments,
  removeCleanShutdownMarker,
  writeCheckpoint,
  writeCleanShutdownMarker,
} from "./log-recovery.js";
import { syncDirectory } from "./durable-file.js";
import { type PartitionCheckpoint, writeCheckpointAsync } from "./partition-checkpoint.js";
import type { LogSegment } from "./log-segment.js";
import { DEFAULT_PRODUCER_ID_EXPIRATION_MS, ProducerState } from "./producer-state.js";
import type { RetentionDeletion } from "./retention-deletion.js";
import { PartitionRetention } from "./partition-retention.js";
import { storageLogger } from "./storage-logger.js";
import type { TopicConfig } from "../topic-config.js";
import { WriteStall } from "./write-stall.js";
import { GroupCommit, type GroupCommitHooks } from "./group-commit.js";
import { CompactionSchedule } from "./compaction-schedule.js";
import type { PartitionLogOptions, ReadOptions } from "./partition-log-options.js";
import { offsetForTimestampIn, readPartition } from "./segment-search.js";
import { PartitionSegments } from "./partition-segments.js";
import { type AppendTarget, PartitionAppender } from "./partition-appender.js";
import { HighWatermark } from "./high-watermark.js";
import { RecoveryPoint } from "./recovery-point.js";

export type { PartitionLogOptions, ReadOptions };
import type { ControlType } from "../control-batch.js";
import type { AbortedTransaction } from "./transaction-index.js";

/**
 * One partition of a topic on disk: an ordered list of LogSegments in one directory, the
 * last of which (the active segment) takes appends; a checkpoint file (recovery point, log
 * start offset); a clean-shutdown marker. See log-segment.ts for the files of a segment
 * and log-recovery.ts for what opening does after a crash.
 *
 * Offsets are assigned at append, gapless. Readers see offsets below the high watermark:
 * the log end offset, except under flush policy "always", where it moves only after the
 * fdatasync that covers the records (so nothing is served that a crash could take back).
 *
 * Flushing is group commit: one fdatasync at a time runs in the background; appends that
 * arrive meanwhile are written at once (to the page cache) and share the next fdatasync.
 *
 * A write that fails (ENOSPC, EMFILE, an I/O error) is undone: the files are cut back to
 * where the append began, so nothing of it is stored, and the append is answered with a
 * retriable StorageError naming the cause. The partition then refuses writes with the same
 * error, without touching the disk, for a backoff (50 ms doubling to 2 s); the first
 * append after it tries the disk again, and once one succeeds the partition writes as
 * before. Appends are never reordered: while one fails, every later one fails too. A
 * failed flush is retried the same way; under flush policy "always" its appends were not
 * acknowledged, but are kept and become visible with the next flush that succeeds (the
 * producer's retry may then store them twice: at-least-once, never lost). Reads go on
 * throughout. Opening on a full disk gives a partition that serves reads and refuses
 * writes until the checkpoint it could not write can be written.
 *
 * All methods but the flushes run synchronously on the event loop; the class is not safe
 * to share between threads or processes (the data directory lock sees to that).
 */
export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  private config: TopicConfig;
  private readonly now: () => number;
  /** The segment files, oldest first; the last takes appends. */
  private readonly files: PartitionSegments;
  private startOffset: number;
  /** Readers see offsets below this. */
  private readonly hw: HighWatermark;
  private readonly recovery: RecoveryPoint;
  private readonly commits: GroupCommit;
  private closed = false;
  /** The close in progress (or done); null until close() is called. */
  private closing: Promise<void> | null = null;
  /** A failure that leaves the log unusable for writes until reopened (not a storage error). */
  private failure: unknown = null;
  private readonly stall: WriteStall;
  private readonly retention: PartitionRetention;
  private readonly logger: Logger;
  private readonly compaction: CompactionSchedule;
  /** Idempotent producers' epochs and last batches, for deduplicating retries. */
  private readonly producers: ProducerState;
  private readonly appender: PartitionAppender;

  private constructor(
    readonly dir: string,
    options: PartitionLogOptions,
    segments: LogSegment[],
    logStartOffset: number,
  ) {
    this.topic = options.topic;
    this.partition = options.partition;
    this.config = options.config;
    this.now = options.now ?? Date.now;
    // storageLogger makes its default on first use: a pino instance made while a module
    // loads breaks an app file that tsx loads and that imports this package.
    this.logger = storageLogger(options.logger).child({
      topic: options.topic,
      partition: options.partition,
    });
    this.stall = new WriteStall(this.name, this.logger);
    this.retention = new PartitionRetention(this.name, this.logger);
    this.commits = new GroupCommit(this.commitHooks());
    this.compaction = new CompactionSchedule(dir, this.name, this.logger);
    this.files = new PartitionSegments(dir, segments);
    const end = this.files.active.nextOffset;
    this.startOffset = Math.min(logStartOffset, end);
    this.hw = new HighWatermark(end);
    this.recovery = new RecoveryPoint(this.files, end);
    this.producers = new ProducerState(
      this.name,
      options.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS,
    );
    this.producers.restore(
      dir,
      (offset) => this.read(offset, 1024 * 1024).records,
      this.startOffset,
      end,
      this.now(),
    );
    this.appender = new PartitionAppender(this.appendTarget());
    this.startFlushTimer();
  }

  private appendTarget(): AppendTarget {
    return {
      name: this.name,
      files: this.files,
      producers: this.producers,
      stall: this.stall,
      hw: this.hw,
      commits: this.commits,
      now: () => this.now(),
      config: () => this.config,
      ensureWritable: () => this.ensureWritable(),
      fail: (err) => {
        this.failure = err;
      },
      prepareWrites: (flushAll) => this.prepareWrites(flushAll),
    };
  }

  /**
   * Opens (creating it if needed) the partition directory and recovers it: see
   * log-recovery.ts. Synchronous, so a caller has a consistent log once it returns.
   */
  static open(dir: string, options: PartitionLogOptions): PartitionLog {
    fs.mkdirSync(dir, { recursive: true });
    const clean = hasCleanShutdownMarker(dir);
    const { segments, logStartOffset, recovered } = openSegments(
      dir,
      options.config,
      storageLogger(options.logger),
    );
    const log = new PartitionLog(dir, options, segments, logStartOffset);
    log.prepareWritesOrStall(recovered || !clean);
    return log;
  }

  /**
   * The writes that let appends begin: what was re-verified is made durable (`flushAll`),
   * so the new recovery point may cover it; the checkpoint; the clean-shutdown marker
   * removed, so that a crash from now on is seen as unclean. On a full disk the partition
   * opens anyway, serving reads, and does these writes before its first append.
   */
  private prepareWritesOrStall(flushAll: boolean): void {
    try {
      this.prepareWrites(flushAll);
    } catch (err) {
      if (errnoOf(err) === undefined) throw err;
      this.stall.enter(err, "opening", flushAll);
    }
  }

  private prepareWrites(flushAll: boolean): void {
    if (flushAll) for (const segment of this.segments) segment.flushSync();
    syncDirectory(this.dir);
    this.writeCheckpointNow();
    removeCleanShutdownMarker(this.dir);
  }

  private get segments(): LogSegment[] {
    return this.files.list;
  }

  get logStartOffset(): number {
    return this.startOffset;
  }

  /** The offset the next appended record gets. */
  get logEndOffset(): number {
    return this.files.active.nextOffset;
  }

  /** Readers see offsets below this. */
  get highWatermark(): number {
    return this.hw.value;
  }

  /** read_committed readers see offsets below this: the oldest open transaction's first offset, else the high watermark. */
  get lastStableOffset(): number {
    return this.producers.transactions.lastStableOffset(this.hw.value);
  }

  /** Aborted transactions with records in [from, to) (transaction-index.ts). */
  abortedTransactions(from: number, to: number): AbortedTransaction[] {
    return this.producers.transactions.abortedIn(from, to);
  }

  /**
   * Appends a transaction marker (control-batch.ts) for `producerId` at `epoch`, written by
   * the transaction coordinator only: it ends the producer's open transaction here (and
   * moves the last stable offset past it). Resolves per the flush policy, like an append.
   */
  appendMarker(
    producerId: number,
    epoch: number,
    type: ControlType,
    coordinatorEpoch: number,
  ): Promise<{ baseOffset: number; lastOffset: number }> {
    return this.appender.appendMarker(producerId, epoch, type, coordinatorEpoch);
  }

  /**
   * Validates each batch in `batch` (one or more back to back) and stamps its base offset
   * (see stampProducedBatches: a bad batch rejects the whole call before anything is
   * written; the caller's buffer is modified), writes the bytes as they are, and resolves
   * per the flush policy.
   */
  append(batch: Buffer): Promise<{ baseOffset: number; lastOffset: number }> {
    return this.appender.append(batch);
  }

  get sizeInBytes(): number {
    return this.files.sizeInBytes;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** The segments' base offsets, oldest first (for tools and tests). */
  get segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  get currentConfig(): TopicConfig {
    return this.config;
  }

  /** The last deletion by retention since the log opened (why history starts where it does). */
  get lastRetentionDeletion(): RetentionDeletion | null {
    return this.retention.lastDeletion;
  }

  /**
   * Sync read of whole stored batches from the one holding `offset`, up to `maxBytes` (at
   * least one whole batch when there is one), from one segment. Only offsets below the
   * high watermark are served.
   */
  read(
    offset: number,
    maxBytes: number,
    options: ReadOptions = {},
  ): { records: Buffer; highWatermark: number; logStartOffset: number } {
    this.ensureOpen();
    const bounds = {
      topic: this.topic,
      partition: this.partition,
      logStartOffset: this.startOffset,
      highWatermark: this.hw.value,
      lastStableOffset: () => this.lastStableOffset,
    };
    return readPartition(this.segments, offset, maxBytes, bounds, options);
  }

  /** Earliest offset whose record timestamp >= `timestamp`, via the time indexes; null if none. */
  offsetForTimestamp(timestamp: number): number | null {
    this.ensureOpen();
    const offset = offsetForTimestampIn(this.segments, timestamp, this.hw.value);
    return offset === null ? null : Math.max(offset, this.startOffset);
  }

  /** The listener runs synchronously whenever the high watermark advances. */
  onAppend(listener: () => void): () => void {
    return this.hw.onAdvance(listener);
  }

  /** Makes everything appended so far durable (and visible, under "always"). */
  flush(): Promise<void> {
    try {
      this.ensureOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.scheduleFlush();
  }

  /** Joins the next group commit: resolves when an fdatasync started after this call ends. */
  private scheduleFlush(): Promise<void> {
    return this.commits.schedule();
  }

  /** The group commit's hooks: what a round syncs, and what its outcome does to the log. */
  private commitHooks(): GroupCommitHooks {
    return {
      start: () => {
        const { work, undo } = this.files.flushWork();
        return { target: this.logEndOffset, work, undo };
      },
      durable: (target) => this.onFlushed(target),
      failed: (err) => {
        if (errnoOf(err) === undefined) {
          this.failure ??= err;
          return err;
        }
        if (this.closed) return err;
        const answer = this.stall.enter(err, "a flush", null);
        this.stall.retryLater(() => {
          if (this.closed || this.commits.busy) return;
          this.scheduleFlush().then(
            () => this.stall.end(),
            () => {},
          );
        });
        return answer;
      },
    };
  }

  private onFlushed(target: number): void {
    this.recovery.flushedTo(target);
    this.hw.advance(target);
    if (this.closed || !this.recovery.worthCheckpoint) return;
    try {
      this.writeCheckpointNow();
    } catch (err) {
      // The records are durable; an older recovery point only means more to re-verify
      // after a crash. The next flush that moves past a segment tries again.
      if (errnoOf(err) === undefined) throw err;
    }
  }

  private writeCheckpointNow(): void {
    const checkpoint = this.checkpointNow();
    this.producers.writeSnapshot(this.dir, this.logEndOffset, this.now());
    writeCheckpoint(this.dir, checkpoint);
    this.recovery.written(checkpoint);
  }

  private checkpointNow(): PartitionCheckpoint {
    return this.recovery.checkpoint(this.logEndOffset, this.startOffset);
  }

  /**
   * Deletes the oldest whole segments whose records are all older than retention.ms (by
   * their largest timestamp), and, while the partition would still hold at least
   * retention.bytes without it, the oldest segment (Kafka's rule: never below the limit).
   * Segments holding offsets at or past the last stable offset stay: the high watermark,
   * or an open transaction's first offset (see PartitionRetention). When everything goes,
   * a new empty segment starts at the log end offset. The aborted transactions wholly
   * below the new log start offset are forgotten, in memory and in the producer snapshot
   * written with the checkpoint. Returns the number of segments deleted.
   */
  applyRetention(now: number = this.now()): number {
    this.ensureOpen();
    const deleted = this.retention.apply(this.files, this.config, this.lastStableOffset, now, () =>
      this.scheduleFlush().catch(() => {}),
    );
    if (deleted === 0) return 0;
    this.startOffset = Math.max(this.startOffset, this.segments[0]!.baseOffset);
    this.producers.transactions.prune(this.startOffset);
    try {
      this.writeCheckpointNow();
    } catch (err) {
      // The segments are gone (which is what frees a full disk); the checkpoint is
      // written before the next append.
      if (errnoOf(err) === undefined) throw err;
      this.stall.enter(err, "writing the checkpoint after retention", false);
    }
    return deleted;
  }

  /**
   * Compacts (cleanup.policy compact or compact,delete) the sealed segments that are
   * flushed, below the high watermark and older than min.compaction.lag.ms: keeps the
   * newest record per key, drops expired tombstones, keeps offsets (see log-cleaner.ts).
   * Synchronous. Skips the work when nothing new was sealed and no kept tombstone has
   * expired since the last run. Returns the number of records removed.
   */
  compact(now: number = this.now()): number {
    this.ensureWritable();
    if (!this.config.cleanupPolicy.includes("compact")) return 0;
    // Compaction writes before it frees: on a full disk it waits for writes to resume.
    if (this.stall.active) return 0;
    // Below the last stable offset only: an open transaction's outcome is not known yet.
    const limit = Math.min(this.lastStableOffset, this.recovery.value);
    const txns = this.producers.transactions;
    return this.compaction.run(this.segments, limit, this.config, now, (pid, offset) =>
      txns.isAborted(pid, offset),
    );
  }

  updateConfig(config: TopicConfig): void {
    this.ensureOpen();
    this.config = config;
    for (const segment of this.segments) segment.indexIntervalBytes = config.indexIntervalBytes;
    this.startFlushTimer();
  }

  /** Under flush "interval", a round of the group commit every flushIntervalMs that has work. */
  private startFlushTimer(): void {
    const due = () =>
      !this.closed && this.failure === null && !this.stall.active && this.files.active.needsFlush;
    this.commits.every(
      this.config.flushPolicy === "interval" ? this.config.flushIntervalMs : 0,
      due,
    );
  }

  /**
   * Flushes, writes the indexes, the checkpoint and the clean-shutdown marker, closes files.
   * Every fsync runs off the event loop, in this order (the marker last, once everything
   * it vouches for is durable), so many partitions can close at once. A second call
   * returns the first one's promise.
   */
  close(): Promise<void> {
    if (this.closing === null) {
      if (this.closed) return Promise.resolve();
      this.closing = this.closeFiles();
    }
    return this.closing;
  }

  private async closeFiles(): Promise<void> {
    this.closed = true;
    this.stopTimer();
    await this.commits.drain();
    // After a failed append the files are as before it (it was undone), so a clean close
    // is tried; after a failed fsync, an fsync that now succeeds proves nothing (the kernel
    // may have dropped the pages), so the next open re-verifies instead.
    if (this.failure === null && !this.commits.lastFailed) {
      try {
        for (const segment of this.segments) await segment.close();
        this.recovery.closedAt(this.logEndOffset);
        this.producers.writeSnapshot(this.dir, this.logEndOffset, this.now());
        await writeCheckpointAsync(this.dir, this.checkpointNow());
        await writeCleanShutdownMarker(this.dir);
        return;
      } catch (err) {
        // A full disk must not fail a shutdown: what was written is in the files, and the
        // next open recovers as after a crash.
        if (errnoOf(err) === undefined) throw err;
        this.logger.warn(
          { event: "unclean-close", errno: errnoOf(err), err },
          `partition ${this.name} closed without its clean-shutdown marker (${errnoOf(err)}): the next open re-verifies its tail`,
        );
      }
    }
    // Not clean: the next open recovers.
    for (const segment of this.segments) segment.release();
  }

  /** Closes without flushing and removes the partition directory. */
  async deleteFiles(): Promise<void> {
    this.closed = true;
    this.stopTimer();
    await this.commits.drain();
    for (const segment of this.segments) segment.release();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private stopTimer(): void {
    this.commits.every(0, () => false);
    this.stall.cancel();
  }

  private get name(): string {
    return `${this.topic}-${this.partition}`;
  }

  private ensureOpen(): void {
    if (this.closed) throw new ClosedError(`partition log ${this.name}`);
  }

  private ensureWritable(): void {
    this.ensureOpen();
    if (this.failure !== null) {
      throw new TributaryError(
        "INTERNAL",
        `partition log ${this.name} stopped taking appends after an unexpected failure (${String(this.failure)}): restart the broker (or reopen the log) to recover it`,
        { cause: this.failure },
      );
    }
  }
}
