import {
  type Consumer,
  type PartitionOffset,
  type TopicPartition,
  topicPartitionKey,
} from "@tributary/log";

/** Least time between two end-offset lookups of a partition whose lag is not known. */
const END_LOOKUP_INTERVAL_MS = 200;

/**
 * The log ends of a worker's assigned partitions as last fetched or looked up: what a
 * PartitionGroup's lag and a task's idleness are judged by. An end no fetch has told is
 * wanted, and looked up after the poll (or at the next commit), at most every
 * END_LOOKUP_INTERVAL_MS per partition.
 */
export class PartitionEnds {
  /** topic-partition -> its log end as last fetched or looked up */
  private readonly ends = new Map<string, number>();
  /** Partitions whose end is not known: looked up after the poll. */
  private readonly wanted = new Map<string, TopicPartition>();
  private readonly lookups = new Map<string, number>();

  constructor(
    private readonly consumer: () => Consumer,
    /** End offsets of a topic's partitions; without it, ends are known only from fetches. */
    private readonly endOffsets: ((topic: string) => Promise<PartitionOffset[]>) | undefined,
    /** Whether a topic-partition is still assigned: a lookup keeps only those. */
    private readonly assigned: (key: string) => boolean,
    /** The offset an input partition is held below (the worker's InputFence), if any. */
    private readonly inputLimitOf?: (topic: string, partition: number) => number | undefined,
  ) {}

  /** Forgets every end: a new assignment. */
  clear(): void {
    this.ends.clear();
  }

  /** A fetch told this partition's high watermark. */
  fetched(key: string, highWatermark: number): void {
    const end = this.ends.get(key);
    if (end === undefined || highWatermark > end) this.ends.set(key, highWatermark);
  }

  /** This partition's end is wanted (its lag is not known). */
  want(tp: TopicPartition): void {
    this.wanted.set(topicPartitionKey(tp.topic, tp.partition), tp);
  }

  get anyWanted(): boolean {
    return this.wanted.size > 0;
  }

  /** Looks up the log ends wanted; true when one became known. */
  async lookUp(): Promise<boolean> {
    const endOffsets = this.endOffsets;
    const wanted = [...this.wanted];
    this.wanted.clear();
    if (endOffsets === undefined) return false;
    const now = Date.now();
    const topics = new Set<string>();
    for (const [key, tp] of wanted) {
      if (now - (this.lookups.get(key) ?? 0) < END_LOOKUP_INTERVAL_MS) continue;
      this.lookups.set(key, now);
      topics.add(tp.topic);
    }
    let found = false;
    for (const topic of topics) {
      for (const o of await endOffsets(topic)) {
        const key = topicPartitionKey(topic, o.partition);
        if (!this.assigned(key) || this.ends.has(key)) continue;
        this.ends.set(key, o.offset);
        found = true;
      }
    }
    return found;
  }

  /** Records behind the log end (or the input limit, when lower) for a PartitionGroup;
   * undefined while not known. */
  lagOf(tp: TopicPartition): number | undefined {
    const position = this.consumer().position(tp);
    if (position === undefined) return undefined;
    let end = this.ends.get(topicPartitionKey(tp.topic, tp.partition));
    // nothing past an input limit will come: a held partition must not hold its task back
    const limit = this.inputLimitOf?.(tp.topic, tp.partition);
    if (limit !== undefined) end = end === undefined ? limit : Math.min(end, limit);
    return end === undefined ? undefined : Math.max(0, end - position);
  }

  /** The partition is known to be at its log end. Not known (nothing fetched since the
   * assignment): not caught up, and its end is looked up at the next commit. */
  caughtUp(tp: TopicPartition): boolean {
    const key = topicPartitionKey(tp.topic, tp.partition);
    const end = this.ends.get(key);
    if (end === undefined) {
      this.wanted.set(key, tp);
      return false;
    }
    // a partition no fetch has answered for has no position yet: caught up if empty
    const position = this.consumer().position(tp);
    return position === undefined ? end === 0 : position >= end;
  }
}
