/**
 * The dropped-records metric (Kafka's `dropped-records-total`): records a windowed
 * operation or join refused because their window had closed. Counted per store (every
 * such operation owns one), so whoever owns a task's stores — the test driver, the worker
 * — reads it without reaching into processors.
 *
 * The count lives on the store under a registry symbol, not in a module-level map: the
 * `tributary` CLI loads an app file through its own module loader, so the processors and
 * the worker that reads their counts may run from two instances of this module.
 */
const DROPPED = Symbol.for("tributary.streams.droppedRecords");

type Counted = { [DROPPED]?: number };

export function recordDropped(store: object, n = 1): void {
  const s = store as Counted;
  s[DROPPED] = (s[DROPPED] ?? 0) + n;
}

export function droppedRecords(store: object): number {
  return (store as Counted)[DROPPED] ?? 0;
}
