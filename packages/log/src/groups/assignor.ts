import type { AssignorName } from "../client/log-client.js";
import type { TopicPartition } from "../record.js";
import { rangeAssignor } from "./range-assignor.js";
import { stickyAssignor } from "./sticky-assignor.js";

/** One group member as an assignor sees it: who it is, what it reads, what it holds now. */
export interface AssignorMember {
  readonly memberId: string;
  readonly topics: readonly string[];
  /** Partitions the member holds from the previous generation (sticky keeps them). */
  readonly owned: readonly TopicPartition[];
}

/** Partitions per topic; a subscribed topic missing here has none (it does not exist). */
export type PartitionCounts = ReadonlyMap<string, number>;

/**
 * An assignor splits the partitions of the topics a group subscribes to over its members.
 * The coordinator runs it (server-side assignment, as Kafka's KIP-848), so it is a pure
 * function of its input: the same members (in any order) and partition counts always give
 * the same assignment, and every partition of a subscribed topic goes to exactly one
 * member that subscribes to that topic. Each member's list is sorted by topic, then
 * partition; every member has an entry, possibly empty.
 */
export interface Assignor {
  readonly name: AssignorName;
  assign(
    members: readonly AssignorMember[],
    partitionCounts: PartitionCounts,
  ): Map<string, TopicPartition[]>;
}

export function assignorFor(name: AssignorName): Assignor {
  switch (name) {
    case "range":
      return rangeAssignor;
    case "sticky":
      return stickyAssignor;
  }
}

export const ASSIGNOR_NAMES: readonly AssignorName[] = ["range", "sticky"];
