import { StateStoreError } from "./errors.js";

/**
 * Under exactly-once, a store's changelog append goes into the caller's transaction, and
 * its engine batch (data + changelog offset) must wait until that transaction commits:
 * written earlier, a crash or an abort would leave the store holding changes the
 * changelog never got, and restore could not tell (DESIGN "Exactly-once never wipes a
 * store"). A CommitBarrier is the one gate every store of a worker passes at commit:
 *
 *   store:      enter() → append to the changelog → ticket.appended() → await ticket.released
 *               → engine write
 *   committer:  start the stores' commits → await appended() → commit the transaction
 *               → release()  (or abort(e): every waiting store's commit fails with e)
 *
 * `enter` is called synchronously when a store's commit starts, so once the committer has
 * started every store's commit, `appended()` knows how many appends to wait for. A store
 * with nothing to commit never enters; one that entered late (after appended() resolved
 * and before release or abort) is refused. One round at a time: the committer awaits
 * every store's commit before it starts the next.
 */
export class CommitBarrier {
  private entered = 0;
  private arrived = 0;
  private failure: unknown = null;
  private onArrival: (() => void) | null = null;
  private gate = deferred();
  /** appended() resolved: the transaction is being committed, no store may join it. */
  private sealed = false;

  /** A store starts its commit: its engine write waits for the returned ticket. */
  enter(): CommitTicket {
    if (this.sealed) {
      // Its append would reach the producer while the transaction commits (or in the next
      // one, with its engine batch waiting on a round nobody releases): refuse, loudly.
      throw new StateStoreError(
        "INTERNAL",
        "a store entered the commit barrier after the round was sealed (appended() had resolved): a store's commit must enter synchronously when it is called; this is a bug, please report it",
      );
    }
    this.entered++;
    const gate = this.gate;
    let done = false;
    const arrive = (failure: unknown) => {
      if (done) return;
      done = true;
      if (failure !== null) this.failure ??= failure;
      this.arrived++;
      this.onArrival?.();
    };
    return {
      appended: () => arrive(null),
      failed: (e) => arrive(e),
      released: gate.promise,
    };
  }

  /**
   * Resolves once every store that entered this round has its changelog append
   * acknowledged; rejects with the first append failure.
   */
  appended(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.arrived < this.entered) return;
        this.onArrival = null;
        if (this.failure === null) {
          this.sealed = true;
          resolve();
        } else reject(this.failure);
      };
      this.onArrival = check;
      check();
    });
  }

  /** The transaction committed: the stores write their engine batches. Ends the round. */
  release(): void {
    this.gate.resolve();
    this.nextRound();
  }

  /** The transaction aborted: every store waiting fails its commit with `cause`. */
  abort(cause: unknown): void {
    this.gate.reject(
      new StateStoreError(
        "INTERNAL",
        `the transaction holding this commit's changelog appends aborted: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      ),
    );
    this.nextRound();
  }

  private nextRound(): void {
    this.entered = 0;
    this.arrived = 0;
    this.failure = null;
    this.onArrival = null;
    this.sealed = false;
    this.gate = deferred();
  }
}

/** One store's place in a round of the CommitBarrier. */
export interface CommitTicket {
  /** The store's changelog append is acknowledged. */
  appended(): void;
  /** The store's append failed: the round's transaction must abort. */
  failed(e: unknown): void;
  /** Resolves when the transaction committed, rejects when it aborted. */
  readonly released: Promise<void>;
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // a round no store waited on may abort unobserved
  return { promise, resolve, reject };
}
