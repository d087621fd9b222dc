import { type Consumer, type FetchedPartition, topicPartitionKey } from "@tributary/log";

/**
 * The highest offset (exclusive) a worker may process of an input partition, or undefined
 * for no limit. A side-by-side version trails the live app with it (the live group's
 * committed offsets); a live app being replaced stops reading its inputs with it.
 */
export type InputLimit = (topic: string, partition: number) => number | undefined;

/**
 * Holds a worker's input partitions (the app's source topics, not its internal ones) below
 * a limit: what a poll fetched at or past it is cut off, the consumer is sought back to the
 * limit and the partition paused, so nothing past the limit is processed or committed; a
 * paused partition is resumed once its limit moves past its position. With `here()` the
 * limit of each partition becomes where it stands now (the first offset of its next fetch,
 * else its position): the worker finishes what it has and reads no more input.
 * Not thread-safe (the worker's loop owns it).
 */
export class InputFence {
  private limit: InputLimit | undefined;
  private readonly held = new Map<string, { topic: string; partition: number }>();
  private readonly pinned = new Map<string, number>();
  private pinHere = false;

  constructor(
    private readonly inputs: ReadonlySet<string>,
    limit?: InputLimit,
  ) {
    this.limit = limit;
  }

  /** From now on, no partition is read past where it stands. */
  here(): void {
    this.pinHere = true;
  }

  get active(): boolean {
    return this.limit !== undefined || this.pinHere;
  }

  /** Cuts `fetched` at the limits (in place), holding the partitions that reached one. */
  apply(consumer: Consumer, fetched: FetchedPartition[]): void {
    if (!this.active) return;
    for (const f of fetched) {
      if (!this.inputs.has(f.topic)) continue;
      const key = topicPartitionKey(f.topic, f.partition);
      let limit = this.limitOf(f.topic, f.partition);
      if (this.pinHere && !this.pinned.has(key)) {
        const here = f.records[0]?.offset ?? consumer.position(f) ?? 0;
        this.pinned.set(key, here);
        limit = Math.min(limit ?? here, here);
      }
      if (limit === undefined) continue;
      const cut = f.records.findIndex((r) => r.offset >= limit);
      if (cut < 0) continue;
      f.records.length = cut;
      consumer.seek(f, limit);
      // paused again even if held: a PartitionGroup's backpressure may have resumed it
      this.held.set(key, { topic: f.topic, partition: f.partition });
      consumer.pause([{ topic: f.topic, partition: f.partition }]);
    }
  }

  /** Resumes the held partitions whose limit moved past their position. */
  release(consumer: Consumer): void {
    for (const [key, tp] of this.held) {
      const limit = this.limitOf(tp.topic, tp.partition);
      const position = consumer.position(tp);
      if (limit === undefined || position === undefined || limit > position) {
        this.held.delete(key);
        consumer.resume([tp]);
      }
    }
  }

  /**
   * The offset an input partition is held below, or undefined for none (and for topics
   * that are not the app's inputs). What lies past it is not waited for: a PartitionGroup
   * counts lag up to here, or a held partition would hold its task (or the worker-wide
   * scheduler) back forever.
   */
  limitOf(topic: string, partition: number): number | undefined {
    if (!this.inputs.has(topic)) return undefined;
    const pinned = this.pinned.get(topicPartitionKey(topic, partition));
    const limit = this.limit?.(topic, partition);
    if (pinned === undefined) return limit;
    return limit === undefined ? pinned : Math.min(limit, pinned);
  }
}
