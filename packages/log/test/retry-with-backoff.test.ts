import { describe, expect, it } from "vitest";
import { type RetryPolicy, retryWithBackoff } from "../src/retry-with-backoff.js";

class Flaky extends Error {
  constructor(readonly retriable: boolean) {
    super(retriable ? "try again" : "never");
  }
}

/** An attempt that fails `failures` times (retriably), then returns "ok"; it records when it ran. */
function flaky(failures: number) {
  const calls: number[] = [];
  const attempt = async () => {
    calls.push(performance.now());
    if (calls.length <= failures) throw new Flaky(true);
    return "ok";
  };
  return { attempt, calls };
}

const policy: RetryPolicy = {
  retryIf: (err) => err instanceof Flaky && err.retriable,
  initialDelayMs: 20,
  maxDelayMs: 80,
};

describe("retryWithBackoff", () => {
  it("retries retriable failures, waiting longer each time up to the cap", async () => {
    const { attempt, calls } = flaky(4);
    const retries: number[] = [];
    const result = await retryWithBackoff(attempt, {
      ...policy,
      onRetry: (_err, retry, delayMs) => retries.push(retry, delayMs),
    });
    expect(result).toBe("ok");
    expect(calls).toHaveLength(5);
    expect(retries).toEqual([1, 20, 2, 40, 3, 80, 4, 80]);
    const gaps = calls.slice(1).map((t, i) => t - calls[i]!);
    // Timers never fire early (a loaded machine only makes them later).
    for (const [i, d] of [20, 40, 80, 80].entries()) expect(gaps[i]).toBeGreaterThanOrEqual(d - 1);
  });

  it("throws a failure retryIf refuses at once, as it was", async () => {
    let calls = 0;
    const never = new Flaky(false);
    await expect(
      retryWithBackoff(async () => {
        calls++;
        throw never;
      }, policy),
    ).rejects.toBe(never);
    expect(calls).toBe(1);
  });

  it("stops after maxRetries and throws the last failure", async () => {
    const { attempt, calls } = flaky(10);
    await expect(retryWithBackoff(attempt, { ...policy, maxRetries: 2 })).rejects.toThrow(
      "try again",
    );
    expect(calls).toHaveLength(3);
  });

  it("gives up rather than wait past timeoutMs", async () => {
    const { attempt, calls } = flaky(10);
    // Waits of 20 + 40 fit in 70 ms; the next (80) would end past it.
    await expect(retryWithBackoff(attempt, { ...policy, timeoutMs: 70 })).rejects.toThrow(
      "try again",
    );
    // Three attempts, or two if the machine is so slow the first wait ended late.
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.length).toBeLessThanOrEqual(3);
  });

  it("ends a wait when its signal is aborted, and waits before the first attempt with delayFirst", async () => {
    const { attempt, calls } = flaky(10);
    const stop = new AbortController();
    const running = retryWithBackoff(attempt, {
      ...policy,
      initialDelayMs: 60_000,
      maxDelayMs: 60_000,
      delayFirst: true,
      signal: stop.signal,
    });
    stop.abort();
    await expect(running).rejects.toMatchObject({ name: "AbortError" });
    expect(calls).toHaveLength(0);
  });
});
