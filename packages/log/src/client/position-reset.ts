import type { PositionReset } from "./log-client.js";

/**
 * What a consumer's position reset (ConsumerOptions.onPositionReset) cost, for the
 * warning every reader of the log logs: `skipped` offsets were never read (retention
 * deleted them first; 0 when the position was past the log's end and records are read
 * again instead), and a message naming the partition, the offsets and what to do.
 */
export function describePositionReset(reset: PositionReset): { skipped: number; message: string } {
  const { topic, partition, from, to } = reset;
  const where = `${topic}-${partition}`;
  if (to > from) {
    const skipped = to - from;
    return {
      skipped,
      message: `${skipped} offset${skipped === 1 ? "" : "s"} of ${where} (${from} to ${to - 1}) were deleted by retention before they were read, and are skipped: the reader is behind the topic's retention; give the topic a longer retention (retention.ms / retention.bytes) or make the reader keep up`,
    };
  }
  return {
    skipped: 0,
    message: `position ${from} of ${where} is past the log's end; reading again from ${to} (the topic was deleted and recreated, or truncated)`,
  };
}
