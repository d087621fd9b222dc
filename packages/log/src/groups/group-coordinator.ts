import { ASSIGNOR_NAMES } from "./assignor.js";
import {
  ClosedError,
  GroupError,
  InvalidArgumentError,
  InvalidNameError,
  TributaryError,
} from "../errors.js";
import { Group } from "./group.js";
import type {
  CommittedOffset,
  GroupDescription,
  GroupOffsetDescription,
  GroupOverview,
  OffsetResetPlanRow,
  OffsetResetSpec,
} from "../client/log-client.js";
import type {
  GroupMemberRef,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
} from "../client/log-service.js";
import type { OffsetJournal } from "./offset-store.js";
import { OffsetStore } from "./offset-store.js";
import type { PartitionOffsets } from "./offset-reset.js";
import { planOffsetReset } from "./offset-reset.js";

export interface GroupCoordinatorOptions {
  /** Where committed offsets persist (the compacted `__consumer_offsets` topic). */
  journal: OffsetJournal;
  /** Partition counts and offsets of the log, for assignment, lag and resets. */
  offsets: PartitionOffsets;
  /** Clock for commit timestamps and "duration" resets. Default Date.now. */
  now?: () => number;
  /** Kafka's group.initial.rebalance.delay.ms. Default 100. */
  initialRebalanceDelayMs?: number | undefined;
  /** Bounds on a member's sessionTimeoutMs (Kafka's group.min/max.session.timeout.ms). */
  minSessionTimeoutMs?: number;
  maxSessionTimeoutMs?: number;
}

export const DEFAULT_INITIAL_REBALANCE_DELAY_MS = 100;
export const MAX_GROUP_ID_LENGTH = 249;
const MAX_REBALANCE_TIMEOUT_MS = 60 * 60 * 1000;

/**
 * The server side of consumer groups: what LogService's group operations do, for the
 * embedded log and the broker alike.
 *
 * Responsible for: the groups (each a {@link Group} state machine: joins, rebalances,
 * generations, session timeouts); fencing commits by member and generation; committed
 * offsets through the {@link OffsetStore} (loaded from the journal on construction, so a
 * new coordinator over the same journal sees every commit of the old one); describing and
 * listing groups with lag; resetting and deleting a group's offsets while it is empty.
 *
 * Membership is not persisted: after a restart members get UNKNOWN_MEMBER on their next
 * heartbeat and rejoin, and groups with committed offsets list as Empty.
 */
export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly store: OffsetStore;
  private readonly log: PartitionOffsets;
  private readonly now: () => number;
  private readonly initialRebalanceDelayMs: number;
  private readonly minSessionTimeoutMs: number;
  private readonly maxSessionTimeoutMs: number;
  private closed = false;

  constructor(options: GroupCoordinatorOptions) {
    this.store = new OffsetStore(options.journal);
    this.log = options.offsets;
    this.now = options.now ?? Date.now;
    this.initialRebalanceDelayMs =
      options.initialRebalanceDelayMs ?? DEFAULT_INITIAL_REBALANCE_DELAY_MS;
    this.minSessionTimeoutMs = options.minSessionTimeoutMs ?? 100;
    this.maxSessionTimeoutMs = options.maxSessionTimeoutMs ?? 30 * 60 * 1000;
    if (!Number.isSafeInteger(this.initialRebalanceDelayMs) || this.initialRebalanceDelayMs < 0) {
      throw new InvalidArgumentError(
        `initialRebalanceDelayMs is ${this.initialRebalanceDelayMs}: expected an integer >= 0`,
      );
    }
  }

  async joinGroup(request: JoinGroupRequest): Promise<JoinGroupResponse> {
    this.checkOpen();
    validateGroupId(request.groupId);
    this.checkJoin(request);
    return this.group(request.groupId).join(request);
  }

  /**
   * Throws UNKNOWN_MEMBER for a member the group does not know. A member with a stale
   * generation gets `{ rebalance: true }` (not ILLEGAL_GENERATION): it missed the answer
   * to its last join and only has to rejoin; its commits stay refused until it does.
   */
  async heartbeat(request: GroupMemberRef): Promise<HeartbeatResponse> {
    this.checkOpen();
    validateGroupId(request.groupId);
    const group = this.groups.get(request.groupId);
    if (group === undefined) throw unknownMember(request.groupId, request.memberId);
    const response = group.heartbeat(request.memberId, request.generation);
    if (response.rebalance) return response;
    return { rebalance: await group.checkPartitions() };
  }

  /** Leaving twice, or after the session expired, is not an error: the member is gone. */
  async leaveGroup(request: { groupId: string; memberId: string }): Promise<void> {
    this.checkOpen();
    validateGroupId(request.groupId);
    this.groups.get(request.groupId)?.leave(request.memberId);
  }

  /**
   * Fenced: refused with UNKNOWN_MEMBER or ILLEGAL_GENERATION unless the member is in the
   * group's current generation (commits during PreparingRebalance are allowed, so a member
   * can commit what it had before giving its partitions up). memberId "" with generation
   * -1 commits for a group with no members (a consumer without group membership).
   */
  async commitOffsets(request: GroupMemberRef & { offsets: CommittedOffset[] }): Promise<void> {
    this.checkOpen();
    validateGroupId(request.groupId);
    if (!Array.isArray(request.offsets)) {
      throw new InvalidArgumentError("commitOffsets needs an array of offsets");
    }
    this.checkMember(request);
    await this.store.commit(request.groupId, request.offsets, this.now());
  }

  /**
   * Fencing for offsets committed inside a transaction (KIP-447): the same check as a
   * commit's, done when sendOffsets hands them over, so a zombie of an older generation
   * is refused before its transaction can commit them.
   */
  checkMember(request: GroupMemberRef): void {
    this.checkOpen();
    validateGroupId(request.groupId);
    const group = this.groups.get(request.groupId);
    if (group !== undefined) group.checkCommit(request.memberId, request.generation);
    else if (request.memberId !== "" || request.generation >= 0) {
      throw unknownMember(request.groupId, request.memberId);
    }
  }

  /** Commits offsets of a transaction that committed (checked by `checkMember` when sent). */
  async commitTransactional(groupId: string, offsets: CommittedOffset[]): Promise<void> {
    this.checkOpen();
    await this.store.commit(groupId, offsets, this.now());
  }

  async fetchOffsets(groupId: string, topics?: string[]): Promise<CommittedOffset[]> {
    this.checkOpen();
    validateGroupId(groupId);
    return this.store.fetch(groupId, topics).map(({ commitTimestamp: _, ...o }) => o);
  }

  async listGroups(): Promise<GroupOverview[]> {
    this.checkOpen();
    const ids = new Set([...this.groups.keys(), ...this.store.groupIds()]);
    const out: GroupOverview[] = [];
    for (const groupId of [...ids].sort()) {
      const g = this.groups.get(groupId);
      out.push({ groupId, state: g?.state ?? "Empty", members: g?.members.size ?? 0 });
    }
    return out;
  }

  /**
   * A group nobody knows describes as Dead with nothing in it (as Kafka does). Offsets of
   * topics that no longer exist are left out: they have no log end to measure lag from.
   */
  async describeGroup(groupId: string): Promise<GroupDescription> {
    this.checkOpen();
    validateGroupId(groupId);
    const g = this.groups.get(groupId);
    const committed = this.store.fetch(groupId);
    const offsets: GroupOffsetDescription[] = [];
    const ends = new Map<string, Map<number, number> | null>();
    for (const c of committed) {
      let end = ends.get(c.topic);
      if (end === undefined) {
        end = await this.logEnds(c.topic);
        ends.set(c.topic, end);
      }
      const logEndOffset = end?.get(c.partition);
      if (logEndOffset === undefined) continue;
      offsets.push({
        topic: c.topic,
        partition: c.partition,
        offset: c.offset,
        logEndOffset,
        lag: Math.max(0, logEndOffset - c.offset),
      });
    }
    if (g === undefined) {
      return {
        groupId,
        state: committed.length > 0 ? "Empty" : "Dead",
        generation: 0,
        assignor: null,
        members: [],
        offsets,
      };
    }
    return {
      groupId,
      state: g.state,
      generation: g.generation,
      assignor: g.assignorName,
      members: [...g.members.values()]
        .map((m) => ({
          memberId: m.memberId,
          clientId: m.clientId,
          assignment: m.assignment.slice(),
        }))
        .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0)),
      offsets,
    };
  }

  /**
   * Moves the group's committed offsets (see planOffsetReset for each kind). Refused with
   * GROUP_NOT_EMPTY while the group has members; `topics` defaults to those the group has
   * committed offsets for; with `dryRun` the plan is returned and nothing is written.
   */
  async resetOffsets(
    groupId: string,
    spec: OffsetResetSpec,
    options: { topics?: string[]; dryRun?: boolean } = {},
  ): Promise<OffsetResetPlanRow[]> {
    this.checkOpen();
    validateGroupId(groupId);
    this.checkEmpty(groupId, "reset its offsets");
    const topics = options.topics ?? this.store.topics(groupId);
    const plan = await planOffsetReset(
      spec,
      topics,
      (topic, partition) => this.store.committed(groupId, topic, partition)?.offset,
      this.log,
      this.now(),
    );
    if (options.dryRun || plan.length === 0) return plan;
    // A member may have joined while the plan was read: check again before writing.
    this.checkEmpty(groupId, "reset its offsets");
    await this.store.commit(
      groupId,
      plan.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.to })),
      this.now(),
    );
    return plan;
  }

  /** Writes a tombstone per committed offset and forgets the group. Refused while it has members. */
  async deleteGroup(groupId: string): Promise<void> {
    this.checkOpen();
    validateGroupId(groupId);
    this.checkEmpty(groupId, "delete it");
    if (!this.groups.has(groupId) && !this.store.hasGroup(groupId)) {
      throw new InvalidArgumentError(
        `group '${groupId}' does not exist (tributary groups list shows the groups there are)`,
      );
    }
    await this.store.deleteGroup(groupId);
    const g = this.groups.get(groupId);
    if (g !== undefined && g.members.size === 0) {
      g.close();
      this.groups.delete(groupId);
    }
  }

  /** Clears every timer and fails waiting joins with ClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Retriable: a member waiting on a join when its broker stops should rejoin once the
    // broker is back, not fail its application.
    const err = new ClosedError("group coordinator", { retriable: true });
    for (const g of this.groups.values()) g.close(err);
    this.groups.clear();
  }

  private group(groupId: string): Group {
    let g = this.groups.get(groupId);
    if (g === undefined) {
      g = new Group(groupId, {
        initialRebalanceDelayMs: this.initialRebalanceDelayMs,
        partitionCounts: (topics) => this.partitionCounts(topics),
      });
      this.groups.set(groupId, g);
    }
    return g;
  }

  private async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const t of topics) {
      try {
        out.set(t, await this.log.partitionCount(t));
      } catch (err) {
        // A subscribed topic that does not exist (yet, or any more) has no partitions,
        // as in Kafka; creating it later triggers a rebalance via the heartbeat check.
        if (err instanceof TributaryError && err.code === "UNKNOWN_TOPIC") out.set(t, 0);
        else throw err;
      }
    }
    return out;
  }

  private async logEnds(topic: string): Promise<Map<number, number> | null> {
    try {
      const m = new Map<number, number>();
      for (const o of await this.log.listOffsets(topic, "latest")) m.set(o.partition, o.offset);
      return m;
    } catch (err) {
      if (err instanceof TributaryError && err.code === "UNKNOWN_TOPIC") return null;
      throw err;
    }
  }

  private checkEmpty(groupId: string, what: string): void {
    const n = this.groups.get(groupId)?.members.size ?? 0;
    if (n > 0) {
      throw new GroupError(
        "GROUP_NOT_EMPTY",
        `group '${groupId}' has ${n} live member${n === 1 ? "" : "s"}: stop its consumers (or wait for their sessions to expire) before you ${what}`,
      );
    }
  }

  private checkJoin(r: JoinGroupRequest): void {
    if (typeof r.memberId !== "string") {
      throw new InvalidArgumentError('memberId must be a string ("" on the first join)');
    }
    if (typeof r.clientId !== "string") throw new InvalidArgumentError("clientId must be a string");
    if (!Array.isArray(r.topics) || r.topics.length === 0) {
      throw new InvalidArgumentError(
        `group '${r.groupId}': a member must subscribe to at least one topic`,
      );
    }
    for (const t of r.topics) {
      if (typeof t !== "string" || t.length === 0) {
        throw new InvalidArgumentError(
          `group '${r.groupId}': subscribed topic names must be non-empty strings`,
        );
      }
    }
    const s = r.sessionTimeoutMs;
    if (!Number.isSafeInteger(s) || s < this.minSessionTimeoutMs || s > this.maxSessionTimeoutMs) {
      throw new InvalidArgumentError(
        `sessionTimeoutMs=${s}: expected an integer from ${this.minSessionTimeoutMs} to ${this.maxSessionTimeoutMs}`,
      );
    }
    const rt = r.rebalanceTimeoutMs;
    if (!Number.isSafeInteger(rt) || rt < 1 || rt > MAX_REBALANCE_TIMEOUT_MS) {
      throw new InvalidArgumentError(
        `rebalanceTimeoutMs=${rt}: expected an integer from 1 to ${MAX_REBALANCE_TIMEOUT_MS}`,
      );
    }
    if (!ASSIGNOR_NAMES.includes(r.assignor)) {
      throw new InvalidArgumentError(
        `unknown assignor '${String(r.assignor)}': use ${ASSIGNOR_NAMES.join(" or ")}`,
      );
    }
    if (r.owned !== undefined && !Array.isArray(r.owned)) {
      throw new InvalidArgumentError("owned must be an array of topic partitions");
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError("group coordinator");
  }
}

/**
 * Group ids never become paths, but the rule is strict anyway so they print and travel
 * safely: 1 to 249 characters, no control characters.
 */
export function validateGroupId(groupId: string): void {
  if (typeof groupId !== "string" || groupId.length === 0) {
    throw new InvalidNameError(
      "INVALID_GROUP_NAME",
      "group id is empty: give it 1 to 249 characters",
    );
  }
  if (groupId.length > MAX_GROUP_ID_LENGTH) {
    throw new InvalidNameError(
      "INVALID_GROUP_NAME",
      `group id '${groupId.slice(0, 40)}…' is ${groupId.length} characters long: the limit is ${MAX_GROUP_ID_LENGTH}`,
    );
  }
  for (let i = 0; i < groupId.length; i++) {
    const c = groupId.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      throw new InvalidNameError(
        "INVALID_GROUP_NAME",
        `group id contains control character \\x${c.toString(16).padStart(2, "0")} at position ${i}: use printable characters only`,
      );
    }
  }
}

function unknownMember(groupId: string, memberId: string): GroupError {
  return new GroupError(
    "UNKNOWN_MEMBER",
    `member '${memberId}' is not in group '${groupId}' (its session expired, it left, or the coordinator restarted): rejoin with an empty member id`,
  );
}
