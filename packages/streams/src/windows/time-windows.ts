import { StreamsArgumentError } from "../errors.js";
import { checkMs } from "./duration.js";

/**
 * Fixed-size windows aligned to the epoch (Kafka's TimeWindows): tumbling when the advance
 * equals the size, hopping (overlapping) when it is smaller. A window is [start, start +
 * size), end exclusive. It closes when end + grace <= stream time; a record that would
 * only land in closed windows is dropped and counted.
 */
export class TimeWindows {
  readonly kind = "time";

  private constructor(
    readonly sizeMs: number,
    readonly advanceMs: number,
    readonly graceMs: number,
  ) {}

  /** Tumbling windows of `sizeMs`; records out of order are dropped once the window ends. */
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return new TimeWindows(checkMs("window size", sizeMs, 1), sizeMs, 0);
  }

  /** Tumbling windows of `sizeMs` that accept records up to `graceMs` after they end. */
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    return new TimeWindows(checkMs("window size", sizeMs, 1), sizeMs, checkMs("grace", graceMs));
  }

  /** Hopping windows: a new window starts every `advanceMs` (0 < advance <= size). */
  advanceBy(advanceMs: number): TimeWindows {
    checkMs("advance", advanceMs, 1);
    if (advanceMs > this.sizeMs) {
      throw new StreamsArgumentError(
        `advance (${advanceMs} ms) must not exceed the window size (${this.sizeMs} ms): records between windows would belong to none`,
      );
    }
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs);
  }

  /** Starts of the windows holding `timestamp`, oldest first. */
  windowStartsFor(timestamp: number): number[] {
    // Kafka's TimeWindows.windowsFor
    let s = Math.max(0, timestamp - this.sizeMs + this.advanceMs);
    s -= s % this.advanceMs;
    const out: number[] = [];
    for (; s <= timestamp; s += this.advanceMs) out.push(s);
    return out;
  }

  /** Stream time at which the window starting at `start` closes. */
  closesAt(start: number): number {
    return start + this.sizeMs + this.graceMs;
  }

  /** How long the store keeps windows. */
  retentionMs(): number {
    return this.sizeMs + this.graceMs;
  }

  toString(): string {
    return this.advanceMs === this.sizeMs
      ? `TimeWindows(tumbling, size=${this.sizeMs}ms, grace=${this.graceMs}ms)`
      : `TimeWindows(hopping, size=${this.sizeMs}ms, advance=${this.advanceMs}ms, grace=${this.graceMs}ms)`;
  }
}
