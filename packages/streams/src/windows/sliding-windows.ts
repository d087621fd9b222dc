import { checkMs } from "./duration.js";

/**
 * Windows that slide with the records (Kafka's SlidingWindows): every distinct set of a
 * key's records lying within `timeDifferenceMs` of each other is one window [start, end],
 * both ends inclusive, end - start = timeDifference. Each record defines the window that
 * ends at it and, if non-empty, the one that starts 1 ms after it. A window closes when
 * end + 1 + grace <= stream time.
 */
export class SlidingWindows {
  readonly kind = "sliding";

  private constructor(
    readonly timeDifferenceMs: number,
    readonly graceMs: number,
  ) {}

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): SlidingWindows {
    return new SlidingWindows(checkMs("time difference", timeDifferenceMs, 1), 0);
  }

  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): SlidingWindows {
    return new SlidingWindows(
      checkMs("time difference", timeDifferenceMs, 1),
      checkMs("grace", graceMs),
    );
  }

  closesAt(end: number): number {
    return end + 1 + this.graceMs;
  }

  /** Raw records are kept as long as a window holding them can still change. */
  retentionMs(): number {
    return 2 * this.timeDifferenceMs + this.graceMs + 2;
  }

  toString(): string {
    return `SlidingWindows(timeDifference=${this.timeDifferenceMs}ms, grace=${this.graceMs}ms)`;
  }
}
