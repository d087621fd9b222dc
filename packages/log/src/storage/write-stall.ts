import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { errnoOf, StorageError, storageRemedy } from "../errors.js";

/** After a failed write the partition waits this long before it tries again, doubling. */
export const WRITE_RETRY_MIN_MS = 50;
export const WRITE_RETRY_MAX_MS = 2000;

interface Stalled {
  error: StorageError;
  /** performance.now() from which the next write may try the disk again. */
  retryAt: number;
  backoffMs: number;
  /**
   * Writes that opening or retention could not make (checkpoint, clean-shutdown marker
   * removal; with `true`, an fdatasync of every segment first), owed before any append.
   */
  redo: boolean | null;
  timer: NodeJS.Timeout | null;
}

/**
 * Whether one partition refuses writes after a storage failure (a full disk, no file
 * descriptor, an I/O error), why, and until when. Responsible for:
 * - the StorageError appends get meanwhile, naming the partition, the failed step, the
 *   errno and what an operator does;
 * - the backoff: 50 ms after the first failure, doubling to 2 s while failures go on;
 * - the writes owed before appends may resume (`redo`);
 * - one warn line when writes stop and one info line when they resume.
 * The owning PartitionLog decides what a retry is; this class only keeps the time.
 */
export class WriteStall {
  private stalled: Stalled | null = null;

  constructor(
    private readonly partition: string,
    private readonly logger: Logger,
  ) {}

  get active(): boolean {
    return this.stalled !== null;
  }

  /**
   * Enters the stall, or extends it with a doubled backoff, after `cause` failed during
   * `what`; `redo` adds writes owed before appends. Returns the error to answer with.
   */
  enter(cause: unknown, what: string, redo: boolean | null): StorageError {
    const errno = errnoOf(cause) ?? "EIO";
    const error = new StorageError(
      `partition ${this.partition} cannot write: ${what} failed with ${errno} (${(cause as Error).message}); ${storageRemedy(errno)}`,
      cause,
    );
    const previous = this.stalled;
    if (previous === null) {
      this.logger.warn(
        { event: "writes-stalled", errno, err: cause },
        `partition ${this.partition} refuses writes: ${error.message}`,
      );
    }
    if (previous?.timer) clearTimeout(previous.timer);
    const backoffMs =
      previous === null ? WRITE_RETRY_MIN_MS : Math.min(previous.backoffMs * 2, WRITE_RETRY_MAX_MS);
    const owed = previous?.redo ?? null;
    this.stalled = {
      error,
      retryAt: performance.now() + backoffMs,
      backoffMs,
      redo: redo === null ? owed : redo || owed === true,
      timer: null,
    };
    return error;
  }

  /**
   * Before a write while stalled: throws the stall's error while the backoff runs, else
   * returns the writes owed (see `redo`; null when none), to be done, then `owedDone()`.
   */
  checkRetry(): boolean | null {
    const s = this.stalled!;
    if (performance.now() < s.retryAt) throw s.error;
    return s.redo;
  }

  owedDone(): void {
    if (this.stalled !== null) this.stalled.redo = null;
  }

  /** A write succeeded: the stall is over. */
  end(): void {
    const s = this.stalled;
    if (s === null) return;
    if (s.timer !== null) clearTimeout(s.timer);
    this.stalled = null;
    this.logger.info(
      { event: "writes-resumed", errno: s.error.errno },
      `partition ${this.partition} takes writes again after ${s.error.errno}`,
    );
  }

  /** Runs `retry` once the backoff has passed, unless the stall has ended or moved on. */
  retryLater(retry: () => void): void {
    const s = this.stalled!;
    s.timer = setTimeout(
      () => {
        s.timer = null;
        if (this.stalled === s) retry();
      },
      Math.max(0, s.retryAt - performance.now()),
    );
    s.timer.unref();
  }

  /** Stops a pending retry (the log closes). */
  cancel(): void {
    if (this.stalled?.timer) clearTimeout(this.stalled.timer);
  }
}
