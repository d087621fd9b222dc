import type { JoinGroupResponse } from "../client/log-service.js";
import type { TopicPartition } from "../record.js";
import type { AssignorMember } from "./assignor.js";

/** A member's join waiting for the rebalance to end. */
export interface PendingJoin {
  resolve(response: JoinGroupResponse): void;
  reject(err: Error): void;
}

export interface GroupMember {
  readonly memberId: string;
  /** Kafka's group.instance.id (static membership); null for a dynamic member. */
  readonly instanceId: string | null;
  clientId: string;
  topics: string[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** What the member says it owns; used only until the coordinator has assigned it. */
  claimed: TopicPartition[];
  /** Its partitions in the current generation (empty until its first assignment). */
  assignment: TopicPartition[];
  assigned: boolean;
  /** Rejoined during the rebalance in progress. */
  joined: boolean;
  pending: PendingJoin | null;
  sessionTimer: NodeJS.Timeout | null;
  sessionTimerMs: number;
}

/**
 * The assignor's view of `members`: what each subscribes to and owns. The coordinator
 * knows what it gave a member; a new member's claim counts only for partitions no known
 * member holds.
 */
export function assignorMembers(members: Iterable<GroupMember>): AssignorMember[] {
  const all = [...members];
  const heldByKnown = new Set<string>();
  for (const m of all) {
    if (m.assigned) for (const tp of m.assignment) heldByKnown.add(`${tp.topic}\0${tp.partition}`);
  }
  return all.map((m) => ({
    memberId: m.memberId,
    topics: m.topics,
    owned: m.assigned
      ? m.assignment
      : m.claimed.filter((tp) => !heldByKnown.has(`${tp.topic}\0${tp.partition}`)),
  }));
}
