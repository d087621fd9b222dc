/**
 * The dropped-records metric (Kafka's `dropped-records-total`): records a windowed
 * operation or join refused because their window had closed. Counted per store (every
 * such operation owns one), so whoever owns a task's stores — the test driver, the worker
 * — reads it without reaching into processors.
 */
const counts = new WeakMap<object, number>();

export function recordDropped(store: object, n = 1): void {
  counts.set(store, (counts.get(store) ?? 0) + n);
}

export function droppedRecords(store: object): number {
  return counts.get(store) ?? 0;
}
