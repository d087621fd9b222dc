/**
 * Process-wide counters of the storage layer, read by benchmarks and by the broker's
 * status output. Plain numbers: incrementing one costs nothing on the append path.
 */
export const logMetrics = {
  /** fdatasync calls on segment files (group commit makes this far below appends). */
  fsyncs: 0,
};
