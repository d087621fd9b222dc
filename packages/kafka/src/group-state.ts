import type { GroupState } from "@tributary/log";

/**
 * Kafka's group states (org.apache.kafka.common.GroupState: the names DescribeGroups and
 * ConsumerGroupDescribe answer, e.g. "PreparingRebalance"), keyed without case or
 * separators: the Kafka client hands them over upper-cased ("PREPARINGREBALANCE"), other
 * tools write "PREPARING_REBALANCE".
 *
 * The classic protocol's five states are LogClient's own. The consumer protocol (KIP-848)
 * and streams groups say where a rebalance is with other words, mapped to the classic
 * state of the same moment: Assigning (the coordinator computes the new assignment) is
 * PreparingRebalance; Reconciling (members move to it) is CompletingRebalance; NotReady
 * (a streams group whose topology is not set up yet) has not started either.
 */
const KAFKA_GROUP_STATES: Readonly<Record<string, GroupState>> = {
  PREPARINGREBALANCE: "PreparingRebalance",
  COMPLETINGREBALANCE: "CompletingRebalance",
  STABLE: "Stable",
  DEAD: "Dead",
  EMPTY: "Empty",
  ASSIGNING: "PreparingRebalance",
  RECONCILING: "CompletingRebalance",
  NOTREADY: "PreparingRebalance",
};

/**
 * The LogClient state of a group Kafka reports in `kafkaState` with `members` members;
 * `undefined` state: Kafka does not know the group (Dead). A state this table lacks
 * ("Unknown", or one a later Kafka adds) is never reported as Dead for a group with
 * members: it reads as Stable with members, Empty without.
 */
export function groupStateOf(kafkaState: string | undefined, members: number): GroupState {
  if (kafkaState === undefined) return "Dead";
  const known = KAFKA_GROUP_STATES[kafkaState.replace(/[^a-z]/gi, "").toUpperCase()];
  if (known !== undefined) return known;
  return members > 0 ? "Stable" : "Empty";
}
