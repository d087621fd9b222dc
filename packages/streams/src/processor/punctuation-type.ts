/**
 * The time a punctuation follows (Kafka's PunctuationType):
 * - STREAM_TIME: the task's event time — the largest record time it has seen, or on a
 *   task reading internal topics the low watermark of its upstream tasks. A punctuator
 *   fires when stream time reaches a multiple of its interval (once per advance, however
 *   many multiples it passed), so it never fires while no record (or watermark) arrives,
 *   and a replay of the same input fires it at the same points.
 * - WALL_CLOCK_TIME: the system clock, checked by the task loop after every poll (at least
 *   every 100 ms, with or without input); fires `interval` after scheduling and then every
 *   interval. The test driver's `advanceWallClockTime` moves its mock clock.
 */
export const PunctuationType = {
  STREAM_TIME: "stream-time",
  WALL_CLOCK_TIME: "wall-clock-time",
} as const;

export type PunctuationType = (typeof PunctuationType)[keyof typeof PunctuationType];

/** Called with the stream time or the wall-clock time at which it fires. */
export type Punctuator = (timestamp: number) => void;

/** What `schedule` returns: `cancel()` stops the punctuator (also from inside it). */
export interface Cancellable {
  cancel(): void;
}
