import type { TopicPartition } from "../record.js";
import type { AssignorMember } from "./assignor.js";

// The orders the assignors sort by, so an assignment does not depend on the order members
// joined in. Apart from assignor.ts, which picks an assignor by name and so imports them.

export function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  return a.partition - b.partition;
}

export function compareMemberIds(a: AssignorMember, b: AssignorMember): number {
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}
