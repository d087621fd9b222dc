import {
  type AssignorMember,
  type AssignorName,
  assignorFor,
  type TopicPartition,
} from "@tributary/log";

/** One live member of the app's group as the coordinator last assigned it. */
export interface PlacementMember {
  readonly memberId: string;
  readonly assignment: readonly TopicPartition[];
}

/** A stateful task as placement sees it: its id and the input partition that carries it. */
export interface PlacedTask {
  readonly taskId: string;
  /** The task's first source topic and its partition: whoever holds it runs the task. */
  readonly input: TopicPartition;
}

/**
 * Where each stateful task's standby replicas go (Kafka Streams' num.standby.replicas),
 * per member id: a pure function of the group as it stands, so every worker computes the
 * same answer from the same `describeGroup` and no extra protocol is needed.
 *
 * The first standby of a task goes where the group's own assignor would move the task if
 * its active owner left: the assignor is a pure function of the members and what they
 * own (packages/log groups/assignor.ts), so after the owner dies the coordinator hands
 * the task to the worker that already holds it warm (Kafka's HighAvailabilityTaskAssignor
 * gets the same by choosing caught-up clients; ours gets it by predicting the move). Any
 * further standby goes to the member with the fewest standbys so far (ties: member id),
 * never to the owner or twice to one member. With fewer members than replicas + 1 the
 * task gets what members there are.
 */
export function placeStandbys(
  members: readonly PlacementMember[],
  topics: readonly string[],
  partitionCounts: ReadonlyMap<string, number>,
  assignor: AssignorName,
  tasks: readonly PlacedTask[],
  replicas: number,
): Map<string, string[]> {
  const out = new Map<string, string[]>(members.map((m) => [m.memberId, []]));
  if (replicas <= 0 || members.length < 2) return out;
  const ownerOf = new Map<string, string>();
  for (const m of members) for (const tp of m.assignment) ownerOf.set(key(tp), m.memberId);
  // where the assignor moves each member's partitions when that member leaves
  const successor = new Map<string, string>();
  for (const leaving of members) {
    const rest: AssignorMember[] = members
      .filter((m) => m !== leaving)
      .map((m) => ({ memberId: m.memberId, topics, owned: m.assignment }));
    const plan = assignorFor(assignor).assign(rest, partitionCounts);
    for (const [memberId, partitions] of plan) {
      for (const tp of partitions) {
        if (ownerOf.get(key(tp)) === leaving.memberId) successor.set(key(tp), memberId);
      }
    }
  }
  const load = new Map<string, number>(members.map((m) => [m.memberId, 0]));
  const ids = members.map((m) => m.memberId).sort();
  for (const task of [...tasks].sort((a, b) => (a.taskId < b.taskId ? -1 : 1))) {
    const owner = ownerOf.get(key(task.input));
    if (owner === undefined) continue; // unassigned now: placed once it has an owner
    const chosen: string[] = [];
    const first = successor.get(key(task.input));
    if (first !== undefined && first !== owner) chosen.push(first);
    while (chosen.length < replicas) {
      let best: string | undefined;
      for (const id of ids) {
        if (id === owner || chosen.includes(id)) continue;
        if (best === undefined || load.get(id)! < load.get(best)!) best = id;
      }
      if (best === undefined) break;
      chosen.push(best);
    }
    for (const id of chosen) {
      out.get(id)!.push(task.taskId);
      load.set(id, load.get(id)! + 1);
    }
  }
  return out;
}

function key(tp: TopicPartition): string {
  return `${tp.topic}\0${tp.partition}`;
}
