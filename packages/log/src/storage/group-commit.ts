/** What one round of the group commit does, supplied by its owner (the partition log). */
export interface GroupCommitRound {
  /** The offset everything appended so far reaches: durable once the round succeeds. */
  target: number;
  /** The fsyncs of this round, started. */
  work: Promise<void>[];
  /** Puts back what starting the round took off the owner's books (e.g. a dirty directory). */
  undo(): void;
}

export interface GroupCommitHooks {
  /** Starts a round's fsyncs. */
  start(): GroupCommitRound;
  /** Every fsync of the round succeeded; may throw to fail the round after all. */
  durable(target: number): void;
  /** A round failed: returns the error to give its waiters (and deals with the failure). */
  failed(err: unknown): unknown;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * The partition log's group commit: callers that want durability wait on the next round of
 * fsyncs, and every caller that arrives while a round runs shares the round after it, so
 * a burst of appends under flush "always" costs two fdatasyncs, not one each.
 */
export class GroupCommit {
  private waiters: Waiter[] = [];
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The last round failed; reset by the next success. */
  lastFailed = false;

  constructor(private readonly hooks: GroupCommitHooks) {}

  /** A round is in flight. */
  get busy(): boolean {
    return this.running !== null;
  }

  /** Resolves when a round started after this call ends (rejects if it fails). */
  schedule(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (this.running === null) this.run();
    });
  }

  /**
   * Starts a round every `intervalMs` when `due()` says there is work (flush "interval");
   * 0 stops it. A failed timed round is left to the owner's `failed` hook.
   */
  every(intervalMs: number, due: () => boolean): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (due()) this.schedule().catch(() => {});
    }, intervalMs);
    this.timer.unref();
  }

  /** Waits until no round runs. */
  async drain(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private run(): void {
    const waiters = this.waiters;
    this.waiters = [];
    const round = this.hooks.start();
    const fail = (err: unknown) => {
      this.running = null;
      round.undo();
      this.lastFailed = true;
      const answer = this.hooks.failed(err);
      for (const w of waiters) w.reject(answer);
      for (const w of this.waiters.splice(0)) w.reject(answer);
    };
    this.running = Promise.all(round.work).then(() => {
      try {
        this.hooks.durable(round.target);
      } catch (err) {
        fail(err);
        return;
      }
      this.running = null;
      this.lastFailed = false;
      for (const w of waiters) w.resolve();
      if (this.waiters.length > 0) this.run();
    }, fail);
  }
}
