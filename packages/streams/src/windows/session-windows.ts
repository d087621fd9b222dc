import { checkMs } from "./duration.js";

/**
 * Sessions of activity per key (Kafka's SessionWindows): records closer than the
 * inactivity gap belong to one session [first, last], both inclusive; a record that
 * bridges two sessions merges them. A session can still change until stream time passes
 * end + gap + grace, so suppress emits it then; the aggregation drops a record whose
 * merged session would end before stream time - grace (Kafka's rule).
 */
export class SessionWindows {
  readonly kind = "session";

  private constructor(
    readonly inactivityGapMs: number,
    readonly graceMs: number,
  ) {}

  static ofInactivityGapWithNoGrace(gapMs: number): SessionWindows {
    return new SessionWindows(checkMs("inactivity gap", gapMs, 1), 0);
  }

  static ofInactivityGapAndGrace(gapMs: number, graceMs: number): SessionWindows {
    return new SessionWindows(checkMs("inactivity gap", gapMs, 1), checkMs("grace", graceMs));
  }

  /** Stream time at which a session ending at `end` can no longer change. */
  closesAt(end: number): number {
    return end + 1 + this.inactivityGapMs + this.graceMs;
  }

  retentionMs(): number {
    return this.inactivityGapMs + this.graceMs + 1;
  }

  toString(): string {
    return `SessionWindows(gap=${this.inactivityGapMs}ms, grace=${this.graceMs}ms)`;
  }
}
