import type { Assignor, AssignorMember, PartitionCounts } from "./assignor.js";
import { compareMemberIds } from "./assignment-order.js";
import type { TopicPartition } from "../record.js";

/**
 * Kafka's RangeAssignor: for each topic on its own, the members subscribing to it (sorted
 * by member id) get contiguous ranges of partitions, the first `count % members` of them
 * one more. Because each topic is split the same way, members with the same subscription
 * get the same partition numbers of topics with the same partition count: co-partitioned
 * topics (a join's two sides) land together on one member. Ownership is ignored.
 */
export const rangeAssignor: Assignor = {
  name: "range",
  assign(members: readonly AssignorMember[], partitionCounts: PartitionCounts) {
    const sorted = [...members].sort(compareMemberIds);
    const out = new Map<string, TopicPartition[]>();
    const subscribers = new Map<string, string[]>();
    for (const m of sorted) {
      out.set(m.memberId, []);
      for (const topic of new Set(m.topics)) {
        const list = subscribers.get(topic);
        if (list === undefined) subscribers.set(topic, [m.memberId]);
        else list.push(m.memberId);
      }
    }
    for (const topic of [...subscribers.keys()].sort()) {
      const subs = subscribers.get(topic)!;
      const count = partitionCounts.get(topic) ?? 0;
      const per = Math.floor(count / subs.length);
      const extra = count % subs.length;
      let partition = 0;
      for (let i = 0; i < subs.length; i++) {
        const list = out.get(subs[i]!)!;
        const end = partition + per + (i < extra ? 1 : 0);
        for (; partition < end; partition++) list.push({ topic, partition });
      }
    }
    return out;
  },
};
