import type { Assignor, AssignorMember, PartitionCounts } from "./assignor.js";
import { compareMemberIds, compareTopicPartitions } from "./assignment-order.js";
import type { TopicPartition } from "../record.js";

/**
 * A sticky assignor, in the spirit of Kafka's StickyAssignor: a member keeps the
 * partitions it owns wherever that is still valid, counts are balanced, and as few
 * partitions move as balance allows. In three steps:
 *
 * 1. Keep: each member keeps its owned partitions that still exist and that it still
 *    subscribes to. A partition claimed by two members (a zombie's stale claim) goes to
 *    the first by member id; the coordinator avoids that case by passing, for members it
 *    already knows, the assignment it gave them rather than what they claim.
 * 2. Fill: every unowned partition (a departed member's, a new topic's) goes to the
 *    least-loaded member subscribing to its topic (ties: lowest member id).
 * 3. Balance: while some member holds two or more partitions more than another member
 *    that could take one of them, the largest partition it can take moves from the
 *    most-loaded to the least-loaded. Each move strictly lowers the sum of squared
 *    counts, so this ends; when all members subscribe to the same topics it ends with
 *    counts differing by at most one. With different subscriptions, balance holds among
 *    members that could trade partitions.
 *
 * A member leaving moves only its partitions; a member joining a group of n takes about
 * 1/(n+1) of them, each from one of the most-loaded members.
 */
export const stickyAssignor: Assignor = {
  name: "sticky",
  assign(members: readonly AssignorMember[], partitionCounts: PartitionCounts) {
    const sorted = [...members].sort(compareMemberIds);
    const n = sorted.length;
    const subscribed = sorted.map((m) => new Set(m.topics));
    // Per member, its partitions keyed by "topic\0partition" (cheap removal for moves).
    const held: Map<string, TopicPartition>[] = sorted.map(() => new Map());
    const owner = new Map<string, number>();

    const topics = new Set<string>();
    for (const s of subscribed) for (const t of s) topics.add(t);

    for (let i = 0; i < n; i++) {
      for (const tp of sorted[i]!.owned) {
        const count = partitionCounts.get(tp.topic) ?? 0;
        if (!subscribed[i]!.has(tp.topic)) continue;
        if (!Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition >= count) continue;
        const key = `${tp.topic}\0${tp.partition}`;
        if (owner.has(key)) continue;
        owner.set(key, i);
        held[i]!.set(key, { topic: tp.topic, partition: tp.partition });
      }
    }

    for (const topic of [...topics].sort()) {
      const count = partitionCounts.get(topic) ?? 0;
      for (let p = 0; p < count; p++) {
        const key = `${topic}\0${p}`;
        if (owner.has(key)) continue;
        let best = -1;
        for (let i = 0; i < n; i++) {
          if (!subscribed[i]!.has(topic)) continue;
          if (best === -1 || held[i]!.size < held[best]!.size) best = i;
        }
        owner.set(key, best);
        held[best]!.set(key, { topic, partition: p });
      }
    }

    while (moveOne(held, subscribed)) {
      // each move lowers the sum of squared counts, so this loop ends
    }

    const out = new Map<string, TopicPartition[]>();
    for (let i = 0; i < n; i++) {
      out.set(sorted[i]!.memberId, [...held[i]!.values()].sort(compareTopicPartitions));
    }
    return out;
  },
};

/** Moves one partition from a most-loaded member to a least-loaded one that can take it. */
function moveOne(held: Map<string, TopicPartition>[], subscribed: Set<string>[]): boolean {
  const order = held.map((_, i) => i);
  // Stable sort keeps member-id order among equals, so moves are deterministic.
  const byLoadDesc = [...order].sort((a, b) => held[b]!.size - held[a]!.size);
  const byLoadAsc = [...order].sort((a, b) => held[a]!.size - held[b]!.size);
  for (const from of byLoadDesc) {
    for (const to of byLoadAsc) {
      if (held[from]!.size - held[to]!.size <= 1) break;
      let pick: [string, TopicPartition] | undefined;
      for (const entry of held[from]!) {
        if (!subscribed[to]!.has(entry[1].topic)) continue;
        if (pick === undefined || compareTopicPartitions(entry[1], pick[1]) > 0) pick = entry;
      }
      if (pick === undefined) continue;
      held[from]!.delete(pick[0]);
      held[to]!.set(pick[0], pick[1]);
      return true;
    }
  }
  return false;
}
