import { checkMs } from "./duration.js";

/**
 * How close in time two records of a stream-stream join must be (Kafka's JoinWindows): a
 * left record at t pairs with right records at [t - before, t + after]. Records older
 * than stream time - grace are dropped (counted); an unmatched left (outer: also right)
 * record is emitted with a null partner once no partner can arrive any more:
 * left at t when t + after + grace < stream time, right at u when u + before + grace <
 * stream time (the KIP-633 fix: no spurious early null results).
 */
export class JoinWindows {
  private constructor(
    readonly beforeMs: number,
    readonly afterMs: number,
    readonly graceMs: number,
  ) {}

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): JoinWindows {
    const d = checkMs("time difference", timeDifferenceMs);
    return new JoinWindows(d, d, 0);
  }

  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): JoinWindows {
    const d = checkMs("time difference", timeDifferenceMs);
    return new JoinWindows(d, d, checkMs("grace", graceMs));
  }

  /** Only right records up to `beforeMs` earlier than the left one pair with it. */
  before(beforeMs: number): JoinWindows {
    return new JoinWindows(checkMs("before", beforeMs), this.afterMs, this.graceMs);
  }

  /** Only right records up to `afterMs` later than the left one pair with it. */
  after(afterMs: number): JoinWindows {
    return new JoinWindows(this.beforeMs, checkMs("after", afterMs), this.graceMs);
  }

  /** Each side's buffer keeps records this long behind stream time. */
  retentionMs(): number {
    return this.beforeMs + this.afterMs + this.graceMs + 1;
  }

  toString(): string {
    return `JoinWindows(before=${this.beforeMs}ms, after=${this.afterMs}ms, grace=${this.graceMs}ms)`;
  }
}
