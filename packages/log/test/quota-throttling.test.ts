import { describe, expect, it } from "vitest";
import { QuotaManager } from "../src/broker/quota-manager.js";

/** A client that sends as fast as the throttle lets it, on a manual clock; bytes/s achieved. */
function saturate(rate: number, bytesPerRequest: number, ms: number) {
  let now = 0;
  let sent = 0;
  const q = new QuotaManager({ "User:alice": { produceBytesPerSec: rate } }, { now: () => now });
  while (now < ms) {
    const delay = q.record("User:alice", "produce", bytesPerRequest);
    sent += bytesPerRequest;
    now += Math.max(delay, 1);
  }
  return { achieved: (sent / now) * 1000, throttledMs: q.throttledMs("produce") };
}

describe("quota throttling", () => {
  it("holds a saturating producer to its rate within 10% over a long run", () => {
    const { achieved, throttledMs } = saturate(1_000_000, 64 * 1024, 60_000);
    expect(achieved).toBeGreaterThan(900_000);
    expect(achieved).toBeLessThan(1_100_000);
    expect(throttledMs).toBeGreaterThan(50_000);
  });

  it("lets a burst through at once, then delays; a principal without a quota never waits", () => {
    let now = 0;
    const q = new QuotaManager({ "User:alice": { fetchBytesPerSec: 1000 } }, { now: () => now });
    expect(q.record("User:alice", "fetch", 1000)).toBe(0); // within the 1 s burst
    expect(q.record("User:alice", "fetch", 1000)).toBe(1000);
    now = 5000; // idle: the debt is paid off, the burst is back
    expect(q.record("User:alice", "fetch", 500)).toBe(0);
    expect(q.record("User:bob", "fetch", 1e9)).toBe(0);
    expect(q.record("User:alice", "produce", 1e9)).toBe(0);
  });

  it("the default quota applies to every principal without its own", () => {
    const now = 0;
    const q = new QuotaManager(
      { default: { produceBytesPerSec: 100 }, "User:ops": { produceBytesPerSec: 1e9 } },
      { now: () => now },
    );
    q.record("User:anyone", "produce", 100);
    expect(q.record("User:anyone", "produce", 100)).toBe(1000);
    expect(q.record("User:ops", "produce", 1e6)).toBe(0);
  });

  it("refuses a quota that is not a positive rate, naming it", () => {
    expect(() => new QuotaManager({ "User:a": { fetchBytesPerSec: 0 } })).toThrow(
      /quota fetchBytesPerSec for User:a is 0/,
    );
  });
});
