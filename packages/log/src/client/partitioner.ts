import { InvalidArgumentError } from "../errors.js";
import { murmur2, toPositive } from "./murmur2.js";

/**
 * Which partition a keyed record goes to: `toPositive(murmur2(key)) % numPartitions`, the
 * formula of Kafka's Java producer (BuiltInPartitioner.partitionForKey, and the
 * DefaultPartitioner before it). Keeping it byte-for-byte equal is what lets a topology
 * move to Kafka without re-keying its topics.
 */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  checkPartitionCount(numPartitions);
  return toPositive(murmur2(key)) % numPartitions;
}

/**
 * Keyless records, as Kafka's sticky partitioner (KIP-480): all keyless records of one
 * send call go to one partition, so they form one batch instead of one batch per
 * partition; the next call picks another partition at random, which spreads load over
 * time. `nextBatch()` starts a new send call; `partition()` is the current choice.
 */
export class StickyPartitioner {
  private readonly current = new Map<string, number>();
  private readonly previous = new Map<string, number>();

  constructor(private readonly random: () => number = Math.random) {}

  /** The partition for keyless records of `topic` in the current send call. */
  partition(topic: string, numPartitions: number): number {
    checkPartitionCount(numPartitions);
    const p = this.current.get(topic);
    if (p !== undefined && p < numPartitions) return p;
    const chosen = this.pick(numPartitions, this.previous.get(topic));
    this.current.set(topic, chosen);
    return chosen;
  }

  /** Ends the current send call: the next keyless record of any topic picks afresh. */
  nextBatch(): void {
    for (const [topic, p] of this.current) this.previous.set(topic, p);
    this.current.clear();
  }

  // Avoids the previous partition when there is a choice, as Kafka's sticky partitioner
  // does on a new batch, so consecutive calls do not pile onto one partition by chance.
  private pick(numPartitions: number, previous: number | undefined): number {
    if (numPartitions === 1) return 0;
    const r = Math.floor(this.random() * numPartitions) % numPartitions;
    if (previous === undefined || r !== previous) return r;
    return (r + 1) % numPartitions;
  }
}

function checkPartitionCount(numPartitions: number): void {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new InvalidArgumentError(
      `number of partitions must be a positive integer, got ${numPartitions}: the topic's metadata is wrong or not loaded`,
    );
  }
}
