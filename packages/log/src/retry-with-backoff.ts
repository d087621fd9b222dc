import { setTimeout as sleep } from "node:timers/promises";

/** How `retryWithBackoff` retries. Delays are in ms. */
export interface RetryPolicy {
  /** Which failures are worth another attempt; any other is thrown at once. */
  retryIf(err: unknown): boolean;
  /** The wait after the first failure; each later wait is `factor` times the one before. */
  initialDelayMs: number;
  /** No wait is longer than this. */
  maxDelayMs: number;
  /** Default 2. */
  factor?: number;
  /** Each wait is drawn from [delay/2, delay], so clients that failed together spread out. */
  jitter?: boolean;
  /** At most this many retries (attempts are one more). Default: no limit. */
  maxRetries?: number;
  /**
   * Give up (throwing the last failure) when the next wait would end more than this long
   * after the call began. Default: no limit.
   */
  timeoutMs?: number;
  /** Wait once before the first attempt too (a reconnect after a connection was lost). */
  delayFirst?: boolean;
  /** Ends a wait early: the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** false: a wait does not keep the process alive. Default true. */
  ref?: boolean;
  /** Told of each failure that will be retried, before the wait. */
  onRetry?(err: unknown, retry: number, delayMs: number): void;
}

/**
 * Runs `attempt` until it succeeds, retrying the failures `policy.retryIf` accepts with
 * exponential backoff, within the policy's retry and time limits; the last failure is
 * thrown as it was. The first attempt runs at once (unless `delayFirst`), so the call
 * costs nothing extra when nothing fails: a producer's every send goes through here.
 */
export async function retryWithBackoff<T>(
  attempt: () => Promise<T>,
  policy: RetryPolicy,
): Promise<T> {
  const deadline = policy.timeoutMs === undefined ? Infinity : Date.now() + policy.timeoutMs;
  let delay = policy.initialDelayMs;
  const wait = (ms: number) => sleep(ms, undefined, { signal: policy.signal, ref: policy.ref });
  if (policy.delayFirst === true) {
    await wait(jittered(delay, policy));
    delay = nextDelay(delay, policy);
  }
  for (let retries = 0; ; retries++) {
    try {
      return await attempt();
    } catch (err) {
      const ms = jittered(delay, policy);
      if (
        !policy.retryIf(err) ||
        retries >= (policy.maxRetries ?? Infinity) ||
        Date.now() + ms > deadline
      ) {
        throw err;
      }
      policy.onRetry?.(err, retries + 1, ms);
      await wait(ms);
      delay = nextDelay(delay, policy);
    }
  }
}

function jittered(delay: number, policy: RetryPolicy): number {
  return policy.jitter === true ? delay * (0.5 + Math.random() * 0.5) : delay;
}

function nextDelay(delay: number, policy: RetryPolicy): number {
  return Math.min(delay * (policy.factor ?? 2), policy.maxDelayMs);
}
