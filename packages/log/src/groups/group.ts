import { randomUUID } from "node:crypto";
import { assignorMembers, type GroupMember } from "./group-member.js";
import { assignorFor } from "./assignor.js";
import { ClosedError, GroupError, InvalidArgumentError } from "../errors.js";
import type { AssignorName, GroupState } from "../client/log-client.js";
import type {
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
} from "../client/log-service.js";

/** What a group needs from its coordinator. */
export interface GroupContext {
  /** Wait after a rebalance from Empty, so members starting together share a generation. */
  readonly initialRebalanceDelayMs: number;
  /** Partition counts of these topics; a topic that does not exist counts 0. */
  partitionCounts(topics: readonly string[]): Promise<Map<string, number>>;
}

/**
 * One consumer group's membership state machine, after Kafka's GroupMetadata:
 *
 *   Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance ──▶ Stable
 *     ▲                    ▲                                                               │
 *     └── last member gone ┴──────── join, leave, session expiry, partitions changed ──────┘
 *
 * (Dead is what the coordinator reports once it dropped a deleted group.)
 *
 * - A rebalance waits until every member has rejoined (`join` returns a Promise that
 *   resolves at the end) or the largest rebalance timeout of the members passes; members
 *   that did not rejoin by then are removed. A rebalance from Empty first waits
 *   `initialRebalanceDelayMs`, extended by each new member up to the rebalance timeout,
 *   as Kafka's group.initial.rebalance.delay.ms.
 * - CompletingRebalance is the short step where partition counts are read and the assignor
 *   runs; the generation then increments and every pending join gets its own assignment.
 * - Each member has a session timer (unref'ed): no heartbeat, join or commit within its
 *   session timeout removes it and starts a rebalance. While a member waits in a join its
 *   timer is stopped: the rebalance timeout bounds that wait.
 * - Heartbeats answer `{ rebalance: true }` while a rebalance is pending, and also to a
 *   member that sends a stale generation: it missed the last join's answer and must
 *   rejoin (a known member rejoining a Stable group with an unchanged subscription gets
 *   its current assignment back without a new rebalance). Its commits are refused until
 *   then, which is what keeps a zombie from writing.
 */
export class Group {
  state: GroupState = "Empty";
  generation = 0;
  assignorName: AssignorName | null = null;
  readonly members = new Map<string, GroupMember>();
  private rebalanceTimer: NodeJS.Timeout | null = null;
  private delayTimer: NodeJS.Timeout | null = null;
  private delayDeadline = 0;
  /** Bumped by every rebalance start: an assignment computed for an older one is dropped. */
  private epoch = 0;
  /** Partition counts the current assignment was computed with. */
  private counts = new Map<string, number>();
  private closed = false;
  /**
   * Member ids replaced by a newer member with the same instance id: their requests get
   * FENCED_INSTANCE_ID (not UNKNOWN_MEMBER, which would make them rejoin and fence the
   * newer one back). Bounded; forgotten when the group empties.
   */
  private readonly fenced = new Set<string>();

  constructor(
    readonly groupId: string,
    private readonly ctx: GroupContext,
  ) {}

  join(req: JoinGroupRequest): Promise<JoinGroupResponse> {
    this.checkOpen();
    const member = req.memberId === "" ? undefined : this.members.get(req.memberId);
    if (this.assignorName !== null && this.members.size > 0 && req.assignor !== this.assignorName) {
      const onlyMember = member !== undefined && this.members.size === 1;
      if (!onlyMember) {
        throw new InvalidArgumentError(
          `group '${this.groupId}' uses the ${this.assignorName} assignor and this member asks for ${req.assignor}: configure every member of a group with the same assignor`,
        );
      }
    }
    this.assignorName = req.assignor;

    if (member === undefined && this.fenced.has(req.memberId)) throw this.fencedError(req.memberId);
    const instanceId = req.groupInstanceId ?? null;
    if (instanceId !== null && (instanceId.length === 0 || instanceId.length > 249)) {
      throw new InvalidArgumentError(
        `group instance id '${instanceId}' must be 1 to 249 characters: leave it unset for a dynamic member`,
      );
    }
    const previous =
      member === undefined && instanceId !== null ? this.byInstance(instanceId) : undefined;
    if (previous !== undefined) return this.replaceStatic(previous, req);

    if (member === undefined) {
      // A new member, or one whose id we no longer know (its session expired, or the
      // coordinator restarted): either way it joins with a fresh id, so anything still
      // using the old id stays fenced.
      return this.joinAsNew(this.addMember(req, instanceId));
    }

    const changed = !sameTopics(member.topics, req.topics);
    member.clientId = req.clientId;
    member.topics = [...new Set(req.topics)];
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.claimed = req.owned ?? [];
    if (this.state === "Stable" && !changed && member.pending === null) {
      return Promise.resolve(this.currentShare(member));
    }
    const promise = this.waitForAssignment(member);
    if (this.state === "Stable" || (this.state === "CompletingRebalance" && changed)) {
      this.startRebalance(false);
    } else if (this.state === "PreparingRebalance") this.maybeComplete();
    return promise;
  }

  /**
   * Static membership (Kafka's KIP-345): a process restarted with the instance id of a
   * member the group still holds (it was SIGKILLed and its session has not expired) takes
   * that member's place at once: the old member id is fenced, and in a Stable group with
   * the same subscription the new one gets the old assignment in the same generation,
   * without a rebalance. So a supervised worker's crash costs a restart, not a session
   * timeout plus a rebalance of every member.
   */
  private replaceStatic(previous: GroupMember, req: JoinGroupRequest): Promise<JoinGroupResponse> {
    const unchanged = sameTopics(previous.topics, req.topics);
    this.dropMember(
      previous,
      "a new member with its group instance id replaced it",
      "FENCED_INSTANCE_ID",
    );
    this.fenced.add(previous.memberId);
    if (this.fenced.size > 1000) this.fenced.delete(this.fenced.values().next().value as string);
    const member = this.addMember(req, previous.instanceId);
    // It takes over what the group gave its predecessor.
    member.assignment = previous.assignment;
    member.assigned = previous.assigned;
    if (previous.assigned) member.claimed = previous.assignment;
    if (this.state === "Stable" && unchanged && member.assigned) {
      return Promise.resolve(this.currentShare(member));
    }
    return this.joinAsNew(member);
  }

  /** A member with a fresh id, in the group, not yet joined to a generation. */
  private addMember(req: JoinGroupRequest, instanceId: string | null): GroupMember {
    const member: GroupMember = {
      memberId: `${req.clientId || "member"}-${randomUUID()}`,
      instanceId,
      clientId: req.clientId,
      topics: [...new Set(req.topics)],
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      claimed: req.owned ?? [],
      assignment: [],
      assigned: false,
      joined: false,
      pending: null,
      sessionTimer: null,
      sessionTimerMs: 0,
    };
    this.members.set(member.memberId, member);
    return member;
  }

  /** A member that is new to the generation waits for the rebalance its arrival starts. */
  private joinAsNew(member: GroupMember): Promise<JoinGroupResponse> {
    const promise = this.waitForAssignment(member);
    if (this.state === "Empty") this.startRebalance(true);
    else if (this.state === "PreparingRebalance") {
      if (this.delayTimer !== null) this.extendInitialDelay();
      else this.maybeComplete();
    } else this.startRebalance(false);
    return promise;
  }

  /** A member's share of the current generation, its session restarted. */
  private currentShare(member: GroupMember): JoinGroupResponse {
    this.touch(member);
    return {
      memberId: member.memberId,
      generation: this.generation,
      assignment: member.assignment.slice(),
    };
  }

  private byInstance(instanceId: string): GroupMember | undefined {
    for (const m of this.members.values()) if (m.instanceId === instanceId) return m;
    return undefined;
  }

  private fencedError(memberId: string): GroupError {
    return new GroupError(
      "FENCED_INSTANCE_ID",
      `member ${memberId} of group '${this.groupId}' was replaced by a newer process with the same group instance id: stop this one (two processes must never share an instance id)`,
    );
  }

  /** Liveness, and the way a member learns it must rejoin. Throws UNKNOWN_MEMBER. */
  heartbeat(memberId: string, generation: number): HeartbeatResponse {
    this.checkOpen();
    const member = this.member(memberId);
    this.touch(member);
    if (this.state !== "Stable" || generation !== this.generation) return { rebalance: true };
    return { rebalance: false };
  }

  /**
   * Starts a rebalance when a subscribed topic's partition count differs from the one the
   * current assignment used (a topic created, deleted, or grown). Returns whether it did.
   */
  async checkPartitions(): Promise<boolean> {
    if (this.state !== "Stable") return false;
    const epoch = this.epoch;
    const counts = await this.ctx.partitionCounts(this.subscribedTopics());
    if (this.closed || epoch !== this.epoch || this.state !== "Stable") return false;
    for (const [topic, n] of counts) {
      if ((this.counts.get(topic) ?? 0) !== n) {
        this.startRebalance(false);
        return true;
      }
    }
    return false;
  }

  /** Removes the member at once (its partitions move now, not after its session). */
  leave(memberId: string): void {
    const member = this.members.get(memberId);
    if (member === undefined) return;
    this.remove(member, "it left the group");
  }

  /**
   * Fencing for commits: the member must be in the group's current generation. A commit
   * with memberId "" and generation -1 (a consumer with assigned partitions, no group
   * membership) is accepted only while the group has no members.
   */
  checkCommit(memberId: string, generation: number): void {
    this.checkOpen();
    if (memberId === "" && generation < 0) {
      if (this.members.size === 0) return;
      throw new GroupError(
        "UNKNOWN_MEMBER",
        `group '${this.groupId}' has live members: a commit without a member id would race them; join the group, or wait until it is empty`,
      );
    }
    const member = this.member(memberId);
    if (generation !== this.generation) {
      throw new GroupError(
        "ILLEGAL_GENERATION",
        `commit from member ${memberId} of generation ${generation} refused: group '${this.groupId}' is at generation ${this.generation}; rejoin and commit what the new assignment gives you`,
      );
    }
    if (this.state === "CompletingRebalance") {
      throw new GroupError(
        "REBALANCE_IN_PROGRESS",
        `group '${this.groupId}' is completing a rebalance: retry the commit after rejoining`,
      );
    }
    this.touch(member);
  }

  subscribedTopics(): string[] {
    const topics = new Set<string>();
    for (const m of this.members.values()) for (const t of m.topics) topics.add(t);
    return [...topics].sort();
  }

  /** Stops every timer and fails every waiting join; the group is unusable after. */
  close(err: Error = new ClosedError("group coordinator")): void {
    this.closed = true;
    this.clearRebalanceTimers();
    for (const m of this.members.values()) {
      if (m.sessionTimer !== null) clearTimeout(m.sessionTimer);
      m.sessionTimer = null;
      const p = m.pending;
      m.pending = null;
      p?.reject(err);
    }
  }

  private member(memberId: string): GroupMember {
    const member = this.members.get(memberId);
    if (member === undefined && this.fenced.has(memberId)) throw this.fencedError(memberId);
    if (member === undefined) {
      throw new GroupError(
        "UNKNOWN_MEMBER",
        `member '${memberId}' is not in group '${this.groupId}' (its session expired, or it left): rejoin with an empty member id`,
      );
    }
    return member;
  }

  private waitForAssignment(member: GroupMember): Promise<JoinGroupResponse> {
    const previous = member.pending;
    const promise = new Promise<JoinGroupResponse>((resolve, reject) => {
      member.pending = { resolve, reject };
    });
    previous?.reject(
      new GroupError(
        "REBALANCE_IN_PROGRESS",
        `member ${member.memberId} sent a newer join to group '${this.groupId}': this one is superseded`,
      ),
    );
    member.joined = true;
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer);
    member.sessionTimer = null;
    return promise;
  }

  private startRebalance(initial: boolean): void {
    this.epoch++;
    this.state = "PreparingRebalance";
    this.clearRebalanceTimers();
    let timeout = 0;
    for (const m of this.members.values()) {
      m.joined = m.pending !== null;
      if (m.rebalanceTimeoutMs > timeout) timeout = m.rebalanceTimeoutMs;
    }
    // Not unref'ed: members are waiting on this rebalance, and in a process whose only
    // work is that wait (an embedded consumer) the loop must stay alive for it.
    this.rebalanceTimer = setTimeout(() => this.onRebalanceTimeout(), timeout);
    if (initial && this.ctx.initialRebalanceDelayMs > 0) {
      this.delayDeadline = Date.now() + timeout;
      this.armDelay(Math.min(this.ctx.initialRebalanceDelayMs, timeout));
    } else this.maybeComplete();
  }

  private extendInitialDelay(): void {
    const left = this.delayDeadline - Date.now();
    if (left <= 0) return;
    this.armDelay(Math.min(this.ctx.initialRebalanceDelayMs, left));
  }

  private armDelay(ms: number): void {
    if (this.delayTimer !== null) clearTimeout(this.delayTimer);
    this.delayTimer = setTimeout(() => {
      this.delayTimer = null;
      this.maybeComplete();
    }, ms);
  }

  private onRebalanceTimeout(): void {
    this.rebalanceTimer = null;
    if (this.state !== "PreparingRebalance") return;
    if (this.delayTimer !== null) clearTimeout(this.delayTimer);
    this.delayTimer = null;
    for (const m of [...this.members.values()]) {
      if (!m.joined) this.dropMember(m, "it did not rejoin within the rebalance timeout");
    }
    void this.complete();
  }

  private maybeComplete(): void {
    if (this.state !== "PreparingRebalance" || this.delayTimer !== null) return;
    for (const m of this.members.values()) if (!m.joined) return;
    void this.complete();
  }

  private async complete(): Promise<void> {
    this.clearRebalanceTimers();
    if (this.members.size === 0) {
      this.becomeEmpty();
      return;
    }
    this.state = "CompletingRebalance";
    const epoch = this.epoch;
    let counts: Map<string, number>;
    try {
      counts = await this.ctx.partitionCounts(this.subscribedTopics());
    } catch (err) {
      if (this.closed || epoch !== this.epoch) return;
      // Without partition counts there is no assignment: fail the joins (members retry)
      // and leave the group rebalancing so their retries complete it.
      for (const m of this.members.values()) {
        const p = m.pending;
        m.pending = null;
        m.joined = false;
        p?.reject(err as Error);
      }
      this.startRebalance(false);
      return;
    }
    if (this.closed || epoch !== this.epoch) return;

    const input = assignorMembers(this.members.values());
    const result = assignorFor(this.assignorName ?? "range").assign(input, counts);
    this.counts = counts;
    this.generation++;
    this.state = "Stable";
    for (const m of this.members.values()) {
      m.assignment = result.get(m.memberId) ?? [];
      m.assigned = true;
      m.joined = false;
      const p = m.pending;
      m.pending = null;
      this.touch(m);
      p?.resolve({
        memberId: m.memberId,
        generation: this.generation,
        assignment: m.assignment.slice(),
      });
    }
  }

  private becomeEmpty(): void {
    this.clearRebalanceTimers();
    this.epoch++;
    this.generation++;
    this.state = "Empty";
    this.assignorName = null;
    this.fenced.clear();
    this.counts = new Map();
  }

  /** (Re)starts the member's session timer; not while it waits in a join. */
  private touch(member: GroupMember): void {
    if (member.pending !== null || this.closed) return;
    if (member.sessionTimer !== null && member.sessionTimerMs === member.sessionTimeoutMs) {
      member.sessionTimer.refresh();
      return;
    }
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer);
    member.sessionTimerMs = member.sessionTimeoutMs;
    member.sessionTimer = setTimeout(() => {
      if (this.members.get(member.memberId) !== member || member.pending !== null) return;
      this.remove(
        member,
        `no heartbeat within its session timeout (${member.sessionTimeoutMs} ms)`,
      );
    }, member.sessionTimeoutMs);
    member.sessionTimer.unref();
  }

  private dropMember(
    member: GroupMember,
    why: string,
    code: "UNKNOWN_MEMBER" | "FENCED_INSTANCE_ID" = "UNKNOWN_MEMBER",
  ): void {
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer);
    member.sessionTimer = null;
    this.members.delete(member.memberId);
    const p = member.pending;
    member.pending = null;
    p?.reject(
      new GroupError(
        code,
        `member ${member.memberId} was removed from group '${this.groupId}': ${why}`,
      ),
    );
  }

  private remove(member: GroupMember, why: string): void {
    this.dropMember(member, why);
    if (this.members.size === 0) {
      this.becomeEmpty();
      return;
    }
    if (this.state === "PreparingRebalance") this.maybeComplete();
    else this.startRebalance(false);
  }

  private clearRebalanceTimers(): void {
    if (this.rebalanceTimer !== null) clearTimeout(this.rebalanceTimer);
    if (this.delayTimer !== null) clearTimeout(this.delayTimer);
    this.rebalanceTimer = null;
    this.delayTimer = null;
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError("group coordinator");
  }
}

function sameTopics(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  if (sa.size !== sb.size) return false;
  for (const t of sa) if (!sb.has(t)) return false;
  return true;
}
