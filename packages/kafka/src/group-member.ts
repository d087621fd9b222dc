import type { ConnectionPool } from "@platformatic/kafka";
import {
  type AssignorMember,
  type AssignorName,
  assignorFor,
  type TopicPartition,
  UnknownTopicError,
} from "@tributary/log";
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from "./consumer-protocol.js";
import { fromKafkaError, kafkaErrorId } from "./errors.js";
import type { KafkaCluster } from "./kafka-cluster.js";

export interface GroupMemberOptions {
  /** The group id on the wire (namespace included). */
  wireGroupId: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Kafka's max.poll.interval.ms: longer than this between polls and the member leaves. */
  maxPollIntervalMs: number;
  rebalanceTimeoutMs: number;
  assignor: AssignorName;
  /** Kafka's group.instance.id (static membership), or null. */
  groupInstanceId: string | null;
}

/** What a (re)join gave the member. */
export interface JoinResult {
  generationId: number;
  memberId: string;
  /** Partitions on the wire (namespaced topic names). */
  assignment: TopicPartition[];
}

/**
 * One member of a Kafka consumer group (the classic protocol, eager rebalancing, as the
 * Java consumer with the range or sticky assignor). Responsible for: JoinGroup/SyncGroup,
 * the leader's assignment (with @tributary/log's assignors, so a group assigns as it does
 * on the embedded log), heartbeats on a timer, noticing that the group rebalances or that
 * the member was dropped, and LeaveGroup.
 *
 * It never rejoins on its own: it raises `rejoinNeeded` (and `lost` when the coordinator
 * no longer knows the member) and the consumer's next poll revokes, rejoins and assigns,
 * so the application's rebalance listener runs inside poll as with Kafka's Java client.
 */
export class GroupMember {
  memberId = "";
  generationId = -1;
  rejoinNeeded = true;
  /** The coordinator dropped this member: its partitions were lost, not handed over. */
  lost = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatInFlight = false;
  /** When the application last called poll, or the running poll returned. */
  private lastPollAt = Date.now();
  private polling = false;
  /** Set once a newer process with our instance id fenced us: every later join throws it. */
  private fenced: Error | undefined;

  constructor(
    private readonly cluster: KafkaCluster,
    private readonly pool: ConnectionPool,
    private readonly options: GroupMemberOptions,
  ) {}

  get active(): boolean {
    return this.generationId >= 0 && this.memberId !== "" && !this.rejoinNeeded;
  }

  /** Joins (or rejoins) with `topics` (on the wire); returns the new generation's share. */
  async join(topics: readonly string[], owned: readonly TopicPartition[]): Promise<JoinResult> {
    this.stopHeartbeats();
    if (this.fenced !== undefined) throw this.fenced;
    const o = this.options;
    const joinGroup = await this.cluster.api<JoinResponse>("JoinGroup");
    const syncGroup = await this.cluster.api<{ assignment: Buffer }>("SyncGroup");
    for (let attempt = 0; ; attempt++) {
      try {
        const joined = await this.cluster.onCoordinator(
          o.wireGroupId,
          (c) =>
            joinGroup(
              c,
              o.wireGroupId,
              o.sessionTimeoutMs,
              o.rebalanceTimeoutMs,
              this.memberId,
              o.groupInstanceId,
              "consumer",
              [{ name: o.assignor, metadata: encodeSubscription(topics, owned) }],
              null,
            ),
          this.pool,
        );
        this.memberId = joined.memberId ?? this.memberId;
        this.generationId = joined.generationId;
        const assignments = joined.leader === this.memberId ? await this.assign(joined) : [];
        const synced = await this.cluster.onCoordinator(
          o.wireGroupId,
          (c) =>
            syncGroup(
              c,
              o.wireGroupId,
              this.generationId,
              this.memberId,
              o.groupInstanceId,
              "consumer",
              joined.protocolName,
              assignments,
            ),
          this.pool,
        );
        this.rejoinNeeded = false;
        this.lost = false;
        this.startHeartbeats();
        return {
          generationId: this.generationId,
          memberId: this.memberId,
          assignment: decodeAssignment(synced.assignment),
        };
      } catch (err) {
        const id = kafkaErrorId(err);
        if (id === "MEMBER_ID_REQUIRED") {
          // KIP-394: the first join gets its member id in this error and joins again with it.
          this.memberId = findMemberId(err) ?? this.memberId;
        } else if (id === "UNKNOWN_MEMBER_ID") {
          this.memberId = "";
        } else if (id !== "REBALANCE_IN_PROGRESS" && id !== "ILLEGAL_GENERATION") {
          throw fromKafkaError(err, `join group '${o.wireGroupId}'`);
        }
        if (attempt >= 20) throw fromKafkaError(err, `join group '${o.wireGroupId}'`);
      }
    }
  }

  /** Leaves the group so its partitions move at once. Errors are ignored: the member is going. */
  async leave(reason = "consumer closed"): Promise<void> {
    this.stopHeartbeats();
    if (this.memberId === "") return;
    const memberId = this.memberId;
    this.memberId = "";
    this.generationId = -1;
    this.rejoinNeeded = true;
    try {
      const leaveGroup = await this.cluster.api("LeaveGroup");
      await this.cluster.onCoordinator(
        this.options.wireGroupId,
        (c) =>
          leaveGroup(c, this.options.wireGroupId, [
            { memberId, groupInstanceId: this.options.groupInstanceId, reason },
          ]),
        this.pool,
      );
    } catch {
      // The session timeout removes the member if the leave did not arrive.
    }
  }

  /** Marks the member for a rejoin after a group error from a commit or heartbeat. */
  noteGroupError(err: unknown): void {
    const id = kafkaErrorId(err);
    if (id === "REBALANCE_IN_PROGRESS" || id === "ILLEGAL_GENERATION") this.rejoinNeeded = true;
    if (id === "FENCED_INSTANCE_ID") {
      // Not a lost session: another live process holds our instance id. Rejoining would
      // fence it back, so this member stops (as Kafka's Java client does).
      this.fenced = fromKafkaError(err, `group '${this.options.wireGroupId}'`);
    }
    if (id === "UNKNOWN_MEMBER_ID" || id === "FENCED_INSTANCE_ID") {
      this.rejoinNeeded = true;
      this.lost = true;
      this.memberId = "";
      this.generationId = -1;
    }
    // A rebalance waits for this member's next poll, for up to its rebalance timeout; the
    // heartbeats keep its session alive meanwhile (as the Java client's heartbeat thread
    // does until the consumer sends JoinGroup). Stopping them here would drop a member
    // busy between polls after one session timeout, and the group would rebalance again
    // when it came back. join() stops them when the JoinGroup goes out.
    if (this.rejoinNeeded && id !== "REBALANCE_IN_PROGRESS") this.stopHeartbeats();
  }

  stopHeartbeats(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private startHeartbeats(): void {
    this.stopHeartbeats();
    this.heartbeatTimer = setInterval(
      () => void this.heartbeat(),
      this.options.heartbeatIntervalMs,
    );
    // Heartbeats keep the membership, not the process: an app that stops polling may exit.
    this.heartbeatTimer.unref();
  }

  /**
   * The consumer's poll begins (`true`) or ends: only the gaps between polls count
   * towards maxPollIntervalMs (a rejoin inside poll is the group's work).
   */
  notePoll(polling: boolean): void {
    this.polling = polling;
    this.lastPollAt = Date.now();
  }

  private async heartbeat(): Promise<void> {
    // A member waiting for its rejoin still heartbeats (see noteGroupError); one with no
    // membership has nothing to keep alive.
    if (this.heartbeatInFlight || this.memberId === "" || this.generationId < 0) return;
    if (!this.polling && Date.now() - this.lastPollAt > this.options.maxPollIntervalMs) {
      // Kafka's poll timeout: a member whose application stopped polling still heartbeats,
      // so the group would wait on it; it leaves, its partitions move, and its next poll
      // reports them lost (its commits would be refused) and rejoins.
      this.lost = true;
      await this.leave("poll timeout: no poll within maxPollIntervalMs");
      return;
    }
    this.heartbeatInFlight = true;
    const generationId = this.generationId;
    const memberId = this.memberId;
    try {
      const heartbeat = await this.cluster.api("Heartbeat");
      await this.cluster.onCoordinator(
        this.options.wireGroupId,
        (c) =>
          heartbeat(
            c,
            this.options.wireGroupId,
            generationId,
            memberId,
            this.options.groupInstanceId,
          ),
        this.pool,
      );
    } catch (err) {
      // An answer about an older generation says nothing about the current one.
      if (generationId === this.generationId) this.noteGroupError(err);
    } finally {
      this.heartbeatInFlight = false;
    }
  }

  /** The leader's job: split the subscribed topics' partitions over the members. */
  private async assign(joined: JoinResponse): Promise<{ memberId: string; assignment: Buffer }[]> {
    const members: AssignorMember[] = joined.members.map((m) => {
      const s = decodeSubscription(m.metadata);
      return { memberId: m.memberId, topics: s.topics, owned: s.owned };
    });
    const topics = [...new Set(members.flatMap((m) => m.topics))];
    const counts = new Map<string, number>();
    // Fresh metadata: a topic created a moment ago must be assigned in full.
    this.cluster.invalidate();
    for (const wire of topics) {
      try {
        const info = await this.cluster.topicOnWire(wire);
        counts.set(wire, info.partitions);
      } catch (err) {
        // A subscribed topic that does not exist has no partitions to assign.
        if (!(err instanceof UnknownTopicError)) throw err;
      }
    }
    const assignor = assignorFor(
      (joined.protocolName as AssignorName | null) ?? this.options.assignor,
    );
    const plan = assignor.assign(members, counts);
    return members.map((m) => ({
      memberId: m.memberId,
      assignment: encodeAssignment(plan.get(m.memberId) ?? []),
    }));
  }
}

interface JoinResponse {
  generationId: number;
  protocolName: string | null;
  leader: string;
  memberId: string | null;
  members: { memberId: string; metadata: Buffer | null }[];
}

function findMemberId(err: unknown): string | undefined {
  const e = err as { memberId?: string; response?: { memberId?: string }; errors?: unknown[] };
  if (typeof e?.memberId === "string" && e.memberId !== "") return e.memberId;
  if (typeof e?.response?.memberId === "string" && e.response.memberId !== "")
    return e.response.memberId;
  for (const inner of e?.errors ?? []) {
    const id = findMemberId(inner);
    if (id !== undefined) return id;
  }
  return undefined;
}
