import { GroupError } from "@tributary/log";

/** The group fenced this member (its generation or membership is gone): its partitions
 * are someone else's now (Kafka's TaskMigratedException). */
export function isFenced(e: unknown): boolean {
  return (
    e instanceof GroupError && (e.code === "ILLEGAL_GENERATION" || e.code === "UNKNOWN_MEMBER")
  );
}

/** The group is completing a rebalance: the member's partitions are still its own. */
export function isRebalancing(e: unknown): boolean {
  return e instanceof GroupError && e.code === "REBALANCE_IN_PROGRESS";
}
