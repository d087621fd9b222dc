import type { TopicPartition } from "@tributary/log";
import { CommitAbortedError } from "../errors.js";
import { isFenced, isRebalancing } from "./group-errors.js";
import type { TaskManager } from "./task-manager.js";
import type { WorkerOptions } from "./worker-options.js";
import { errorText, repeated, warnFields } from "./worker-warnings.js";

/** What handling a failed commit reads of its worker and asks of it. */
export interface CommitFailureContext {
  manager: TaskManager;
  warn: WorkerOptions["warn"];
  /** Exactly-once: every task back to the last commit (exactly-once-rollback.ts). */
  rollBack(cause: unknown, gone: TopicPartition[] | null): Promise<void>;
}

/**
 * What a worker does when a commit fails, blocking or completing while its loop went on
 * (Kafka's TaskMigratedException and friends): an aborted transaction goes back to the
 * last commit, a fenced member closes its tasks and rejoins, a refusal during a rebalance
 * is carried by the next commit; anything else is thrown, and the worker stops without
 * committing.
 */
export async function handleCommitFailure(e: unknown, w: CommitFailureContext): Promise<void> {
  if (e instanceof CommitAbortedError) {
    // Exactly-once: the transaction is aborted. Fenced by the generation, the tasks
    // are someone else's (rejoin, as below); otherwise they go back to the last commit.
    const fenced = isFenced(e.cause);
    w.warn?.(
      `${e.message}${fenced ? "; the group fenced this worker: rejoining" : ""}`,
      warnFields("commit-aborted", e.cause),
    );
    await w.rollBack(e.cause, fenced ? null : []);
    return;
  }
  // Fenced: a rebalance gave our partitions away while we worked. Their tasks are
  // someone else's now; close them without committing and rejoin (Kafka's
  // TaskMigratedException). What they processed is processed again by the new owner.
  if (isFenced(e)) {
    w.warn?.(
      `commit fenced (${errorText(e)}); closing tasks and rejoining${repeated(w.manager)}`,
      warnFields("commit-fenced", e, w.manager),
    );
    await w.manager.closeAll();
    return;
  }
  // The group is completing a rebalance: the tasks are still ours and keep their
  // uncommitted positions, which the next commit (on the interval, or on revocation
  // when the rebalance takes them) carries, as Kafka Streams does. Failing here made
  // the restarted worker reprocess everything since the last commit on top of stores
  // that already held it, once per failed commit.
  if (isRebalancing(e)) {
    w.warn?.(
      `commit deferred (${errorText(e)}); the next commit carries it`,
      warnFields("commit-deferred", e),
    );
    return;
  }
  throw e;
}
